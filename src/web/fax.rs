//! Fax to e-mail over HTTP: the outbox and its retry for supervisors, the received faxes, and
//! the stored documents that large-fax mails link to (any signed-in user).

use axum::extract::{Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::roles::{Agent, Authorized, Supervisor};
use super::shown::Shown;
use super::{ApiError, AppState};
use crate::clock::Millis;
use crate::store::{FaxRecord, MailState, OutboxMail};

fn default_limit() -> u32 {
    100
}

#[derive(Deserialize)]
pub(crate) struct OutboxQuery {
    /// `pending`, `sent` or `failed`; all when absent.
    state: Option<String>,
    /// Page back: mails with a smaller id.
    before: Option<i64>,
    #[serde(default = "default_limit")]
    limit: u32,
}

pub(crate) async fn outbox(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Query(query): Query<OutboxQuery>,
) -> Result<Json<Vec<OutboxMail>>, ApiError> {
    let wanted = match query.state.as_deref() {
        None | Some("") => None,
        Some(text) => Some(MailState::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "state {text:?} is not one of pending, sent, failed"
            ))
        })?),
    };
    let mails = state
        .store
        .outbox(wanted, query.before, query.limit.clamp(1, 1_000))
        .await?;
    Ok(Json(mails))
}

/// A failed (or still pending) mail gets a fresh round of attempts, starting now.
pub(crate) async fn retry(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(id): Path<i64>,
) -> Result<Json<OutboxMail>, ApiError> {
    let mail = state.store.retry_mail(id).await?;
    tracing::info!(mail = id, by = %auth.name, "mail queued again");
    state.fax.outbox().wake();
    Ok(Json(mail))
}

#[derive(Deserialize)]
pub(crate) struct FaxQuery {
    /// Page back: faxes received before this time (Unix ms).
    before: Option<Millis>,
    #[serde(default = "default_limit")]
    limit: u32,
}

pub(crate) async fn faxes(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Query(query): Query<FaxQuery>,
) -> Result<Json<Vec<Shown<FaxRecord>>>, ApiError> {
    let faxes = state
        .store
        .faxes(query.before, query.limit.clamp(1, 1_000))
        .await?;
    Ok(Json(Shown::all(&state, faxes)))
}

/// A stored document, as a download with its own content type.
pub(crate) async fn file(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(format!("file {id:?} not found"));
    let number: i64 = id.parse().map_err(|_| not_found())?;
    let (file, content) = state.store.file(number).await?.ok_or_else(not_found)?;
    // Names are written by the fax desk; keep the header safe whatever the row holds.
    let name: String = file
        .name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.+".contains(*c))
        .collect();
    Ok((
        [
            (CONTENT_TYPE, file.content_type),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        content,
    )
        .into_response())
}
