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
    state
        .audit(auth.change("user", "create", &user.name).after(&user))
        .await;
    Ok((StatusCode::CREATED, Json(user)))
}

/// What an admin may change of a user; every field optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChange {
    role: Option<Role>,
    disabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    password: String,
}

/// Refuses a change that would leave no enabled admin (nobody could manage users again).
async fn keep_an_admin(state: &AppState, name: &str) -> Result<(), ApiError> {
    let others = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.name != name && u.role == Role::Admin && !u.disabled)
        .count();
    if others == 0 {
        return Err(ApiError::conflict(format!(
            "{name:?} is the last enabled admin: make another admin first"
        )));
    }
    Ok(())
}

/// `PATCH /api/users/{name} {role?, disabled?}` → the user. Disabling ends their sessions and
/// closes their live feed at once; a new role applies from their next request.
pub(crate) async fn update_user(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<UserChange>,
) -> Result<Json<User>, ApiError> {
    let demoted = change.role.is_some_and(|r| r != Role::Admin);
    if demoted || change.disabled == Some(true) {
        keep_an_admin(&state, &name).await?;
    }
    let before = state.store.user_by_name(&name).await?;
    if let Some(role) = change.role {
        state.store.set_role(&name, role).await?;
        // The live feed chose what to show by the old role: it reconnects with the new one.
        state.live.sign_out(&name);
        tracing::info!(by = ?auth.name, user = ?name, %role, "user role changed");
    }
    if let Some(disabled) = change.disabled {
        state.store.set_disabled(&name, disabled).await?;
        if disabled {
            state.live.sign_out(&name);
        }
        tracing::info!(by = ?auth.name, user = ?name, disabled, "user access changed");
    }
    let user = state
        .store
        .user_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {name:?} not found")))?;
    let change = auth.change("user", "update", &name).after(&user);
    state.audit(change.before(&before)).await;
    Ok(Json(user))
}

/// `POST /api/users/{name}/password {password}` → 204: an admin sets a new password; the
/// user's sessions and live feed end.
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
    ApiJson(new): ApiJson<NewPassword>,
) -> Result<StatusCode, ApiError> {
    users::set_password(&state.store, &name, &new.password).await?;
    state.live.sign_out(&name);
    tracing::info!(by = ?auth.name, user = ?name, "password reset");
    state
        .audit(auth.change("user", "password_reset", &name))
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/users/{name}` → 204; their sessions and live feed end.
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    keep_an_admin(&state, &name).await?;
    let before = state.store.user_by_name(&name).await?;
    state.store.delete_user(&name).await?;
    state.live.sign_out(&name);
    tracing::info!(by = ?auth.name, user = ?name, "user deleted");
    state
        .audit(auth.change("user", "delete", &name).before(&before))
        .await;
    Ok(StatusCode::NO_CONTENT)
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
    let after = json!({ "name": new.name, "role": new.role });
    state
        .audit(auth.change("token", "create", &new.name).after(&after))
        .await;
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /api/tokens/{name}` → 204; the token stops working at once.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let before = stored_token(&state, &name).await?;
    users::revoke_api_token(&state.store, &name).await?;
    tracing::info!(by = ?auth.name, token = ?name, "API token revoked");
    let after = stored_token(&state, &name).await?;
    let change = auth.change("token", "revoke", &name).before(&before);
    state.audit(change.after(&after)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The token named `name`'s metadata, if there is one.
async fn stored_token(state: &AppState, name: &str) -> Result<Option<ApiToken>, ApiError> {
    Ok(state
        .store
        .list_api_tokens()
        .await?
        .into_iter()
        .find(|t| t.name == name))
}
