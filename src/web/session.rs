//! Signing in and out of the dashboard, and "who am I".

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::{cleared_cookie, session_cookie, session_token};
use super::error::ApiJson;
use super::peer::ClientAddress;
use super::{ApiError, AppState, Auth, Credential};
use crate::audit::{AuditEntry, ANONYMOUS};
use crate::users::{self, LoginThrottle};

#[derive(Deserialize)]
pub(crate) struct Login {
    name: String,
    password: String,
}

/// `POST /api/login {name, password}`: sets the session cookie and answers `{name, role}`.
/// After a few wrong passwords for a name, or from an address, further attempts are refused
/// with `429` and `Retry-After` (see [`users::LoginThrottle`]) without checking the password.
pub(crate) async fn login(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    ClientAddress(address): ClientAddress,
    ApiJson(login): ApiJson<Login>,
) -> Result<Response, ApiError> {
    // Debug formatting escapes control characters a client could use to forge log lines.
    let name: String = login.name.chars().take(64).collect();
    let attempt = throttle
        .begin(&login.name, address, Instant::now())
        .map_err(|wait| {
            tracing::info!(user = ?name, %address, "sign-in refused: too many failures");
            ApiError::too_many_requests("too many failed sign-ins; try again later", wait)
        })?;
    let Some(user) = users::authenticate(&state.store, &login.name, &login.password).await? else {
        tracing::info!(user = ?name, %address, "sign-in refused: wrong name or password");
        let failed = AuditEntry::new(ANONYMOUS, "", "login", "login_failed", &name);
        state.audit(failed.peer(address)).await;
        return Err(ApiError::unauthorized("wrong name or password"));
    };
    throttle.succeeded(attempt);
    let lifetime = Duration::from_secs(state.config.http.session_hours.saturating_mul(3600));
    let token = users::start_session(&state.store, &user, lifetime).await?;
    tracing::info!(user = ?user.name, role = %user.role, "signed in");
    let signed_in = AuditEntry::new(
        &user.name,
        user.role.to_string(),
        "login",
        "login",
        &user.name,
    );
    state.audit(signed_in.peer(address)).await;
    let cookie = session_cookie(&state.config.http, &token)?;
    let body = Json(json!({ "name": user.name, "role": user.role }));
    Ok(([(SET_COOKIE, cookie)], body).into_response())
}

/// `POST /api/logout`: ends the session (if the caller used one) and clears the cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if auth.credential == Credential::Session {
        if let Some(token) = session_token(&headers) {
            users::end_session(&state.store, token).await?;
        }
        tracing::info!(user = ?auth.name, "signed out");
        state
            .audit(auth.change("login", "logout", &auth.name))
            .await;
    }
    let cookie = cleared_cookie(&state.config.http)?;
    Ok((
        [(SET_COOKIE, cookie)],
        Json(json!({ "status": "signed out" })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current: String,
    password: String,
}

/// `POST /api/me/password {current, password}`: a signed-in user changes their own password.
/// The current one is checked like a sign-in (and throttled like one); every other session
/// and live feed of the user ends, and this browser gets a fresh session.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    ClientAddress(address): ClientAddress,
    auth: Auth,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    if auth.credential != Credential::Session {
        return Err(ApiError::refused(
            "an API token has no password: sign in to change yours",
        ));
    }
    let attempt = throttle
        .begin(&auth.name, address, Instant::now())
        .map_err(|wait| {
            ApiError::too_many_requests("too many failed attempts; try again later", wait)
        })?;
    let Some(user) = users::authenticate(&state.store, &auth.name, &change.current).await? else {
        tracing::info!(user = ?auth.name, %address, "password change refused: wrong current password");
        return Err(ApiError::refused("the current password is wrong"));
    };
    throttle.succeeded(attempt);
    users::set_password(&state.store, &user.name, &change.password).await?;
    state.live.sign_out(&user.name);
    let lifetime = Duration::from_secs(state.config.http.session_hours.saturating_mul(3600));
    let token = users::start_session(&state.store, &user, lifetime).await?;
    tracing::info!(user = ?user.name, "password changed by its user");
    state
        .audit(auth.change("user", "password_change", &user.name))
        .await;
    let cookie = session_cookie(&state.config.http, &token)?;
    Ok((
        [(SET_COOKIE, cookie)],
        Json(json!({ "status": "password changed" })),
    )
        .into_response())
}

/// `GET /api/me`: `{name, role, credential}` of the caller.
pub(crate) async fn me(auth: Auth) -> Json<serde_json::Value> {
    Json(json!({ "name": auth.name, "role": auth.role, "credential": auth.credential }))
}
