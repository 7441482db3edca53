//! Admin-only management of dashboard users and API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiJson;
use super::roles::{Admin, Authorized};
use super::{ApiError, AppState};
use crate::users::{self, ApiToken, Role, User};

#[derive(Deserialize)]
pub(crate) struct NewUser {
    name: String,
    role: Role,
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct NewToken {
    name: String,
    role: Role,
}

/// `GET /api/users`
pub(crate) async fn list_users(
    State(state): State<AppState>,
    _: Authorized<Admin>,
) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(state.store.list_users().await?))
}

/// `POST /api/users {name, role, password}` → 201 with the user.
pub(crate) async fn create_user(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = users::add_user(&state.store, &new.name, new.role, &new.password).await?;
    tracing::info!(by = ?auth.name, user = ?user.name, role = %user.role, "user created");
    Ok((StatusCode::CREATED, Json(user)))
}

/// `GET /api/tokens`: metadata only; secrets are never kept.
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    _: Authorized<Admin>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.store.list_api_tokens().await?))
}

/// `POST /api/tokens {name, role}` → 201 `{name, role, token}`; the token is shown only here.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = users::add_api_token(&state.store, &new.name, new.role).await?;
    tracing::info!(by = ?auth.name, token = ?new.name, role = %new.role, "API token created");
    let body = json!({ "name": new.name, "role": new.role, "token": token });
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /api/tokens/{name}` → 204; the token stops working at once.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    users::revoke_api_token(&state.store, &name).await?;
    tracing::info!(by = ?auth.name, token = ?name, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
