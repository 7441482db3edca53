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
use super::languages;
use super::peer::ClientAddress;
use super::{ApiError, AppState, Auth, Credential};
use crate::audit::{AuditEntry, ANONYMOUS};
use crate::users::{self, LoginThrottle};

#[derive(Deserialize)]
pub(crate) struct Login {
    name: String,
    password: String,
}

/// `POST /api/login {name, password}`: sets the session cookie and answers `{name, role,
/// language}` (the user's language, as `GET /api/me` tells it).
/// After a few wrong passwords for a name, or from an address, further attempts are refused
/// with `429` and `Retry-After` (see [`users::LoginThrottle`]) without checking the password.
pub(crate) async fn login(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
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
    let language = language_of(&state, &user.name, Credential::Session, &headers).await?;
    let body = Json(json!({
        "name": user.name,
        "role": user.role,
        "language": language,
        "currency": state.config.service.currency_code(),
    }));
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

/// `GET /api/me`: `{name, role, credential, language, language_chosen, currency}` of the
/// caller. The language is the user's own choice, else the best of the browser's
/// `Accept-Language`; the currency is the deployment's (`[service] currency`, or null).
pub(crate) async fn me(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let chosen = chosen_language(&state, &auth.name, auth.credential).await?;
    let language = chosen.unwrap_or_else(|| languages::of_browser(&headers));
    Ok(Json(json!({
        "name": auth.name,
        "role": auth.role,
        "credential": auth.credential,
        "language": language,
        "language_chosen": chosen.is_some(),
        "currency": state.config.service.currency_code(),
    })))
}

/// The language a signed-in user chose (an API token has none), when it is still one there is.
async fn chosen_language(
    state: &AppState,
    name: &str,
    credential: Credential,
) -> Result<Option<&'static str>, ApiError> {
    if credential != Credential::Session {
        return Ok(None);
    }
    let stored = state.store.user_language(name).await?;
    Ok(stored.as_deref().and_then(languages::known))
}

/// The language `name` sees: their own choice, else the browser's.
pub(crate) async fn language_of(
    state: &AppState,
    name: &str,
    credential: Credential,
    headers: &HeaderMap,
) -> Result<&'static str, ApiError> {
    let chosen = chosen_language(state, name, credential).await?;
    Ok(chosen.unwrap_or_else(|| languages::of_browser(headers)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LanguageChoice {
    /// A language there is (`/lang/index.json`), or null to follow the browser again.
    language: Option<String>,
}

/// `PUT /api/me/language {"language": "ru" | null}`: the signed-in user's language for the
/// screens, on every browser they sign in on.
pub(crate) async fn set_language(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(choice): ApiJson<LanguageChoice>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if auth.credential != Credential::Session {
        return Err(ApiError::refused(
            "an API token has no language: sign in to choose yours",
        ));
    }
    let language = match choice.language.as_deref() {
        None => None,
        Some(code) => Some(languages::known(code).ok_or_else(|| {
            let there = languages::languages()
                .iter()
                .map(|l| l.code)
                .collect::<Vec<_>>()
                .join(", ");
            ApiError::bad_request(format!("no language {code:?}: there are {there}"))
        })?),
    };
    state.store.set_user_language(&auth.name, language).await?;
    Ok(Json(json!({ "language": language })))
}
