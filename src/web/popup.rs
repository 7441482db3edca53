//! `GET /api/agents/{name}/popup`: who is calling the agent now, the very [`Popup`] the live
//! feed pushes as a `popup` frame when the phone rings (`Popup::gather`, not a copy of its
//! rules), for a desktop that missed the frame: reloaded while the phone rang, or polling
//! while the feed is down. The agent themselves or a supervisor+ ([`ActingFor`]); 404 when
//! there is no such agent or no call at their phone.

use axum::extract::State;
use axum::Json;

use super::roles::ActingFor;
use super::{ApiError, AppState};
use crate::live::{Popup, PopupError};

impl From<PopupError> for ApiError {
    fn from(error: PopupError) -> ApiError {
        match error {
            PopupError::Board(e) => e.into(),
            PopupError::Store(e) => e.into(),
        }
    }
}

/// The pop-up of the call at the agent's phone (ringing, or in progress).
pub(crate) async fn popup(
    ActingFor { agent }: ActingFor,
    State(state): State<AppState>,
) -> Result<Json<Popup>, ApiError> {
    let view = state
        .board
        .agent(&agent)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no agent named {agent:?}")))?;
    let call = view
        .call
        .ok_or_else(|| ApiError::not_found(format!("no call at {agent:?}'s phone")))?;
    let popup = Popup::gather(&state.board, &state.store, &state.phonebook, &call).await?;
    Ok(Json(popup))
}
