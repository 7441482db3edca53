//! Who is asking: the [`Auth`] extractor (session cookie, or an API token as
//! `Authorization: Bearer` or `X-Switchdesk-Token`) and the session cookie itself.
//!
//! A route's minimum role is a type in its handler's arguments (`Authorized<Admin>`, see
//! `roles`), checked before any body is read; finer rules call [`Auth::require`].
//! Credentials are verified through [`crate::users`]; this module never sees a password hash
//! or a stored token.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use serde::Serialize;

use super::peer::ClientAddress;
use super::{ApiError, AppState};
use crate::config::HttpConfig;
use crate::users::{self, Role};

/// Name of the cookie that carries the session token.
pub const SESSION_COOKIE: &str = "switchdesk_session";

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Credential {
    Session,
    Token,
}

/// An authenticated caller: a signed-in user or an API token.
#[derive(Clone, Debug)]
pub struct Auth {
    /// The user name, or the API token's name.
    pub name: String,
    pub role: Role,
    pub credential: Credential,
    /// Where the request came from (see `peer`), for the audit log.
    pub peer: IpAddr,
}

impl Auth {
    /// `403` unless the caller's role ranks at least `required`.
    pub fn require(&self, required: Role) -> Result<(), ApiError> {
        if self.role.allows(required) {
            Ok(())
        } else {
            Err(ApiError::forbidden(required))
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ApiError> {
        let ClientAddress(peer) = ClientAddress::from_request_parts(parts, state).await?;
        if let Some(token) = api_token(&parts.headers)? {
            return match users::api_token_role(&state.store, token).await? {
                Some((name, role)) => Ok(Auth {
                    name,
                    role,
                    credential: Credential::Token,
                    peer,
                }),
                None => Err(ApiError::unauthorized("unknown or revoked API token")),
            };
        }
        if let Some(token) = session_token(&parts.headers) {
            if let Some(user) = users::session_user(&state.store, token).await? {
                return Ok(Auth {
                    name: user.name,
                    role: user.role,
                    credential: Credential::Session,
                    peer,
                });
            }
            return Err(ApiError::unauthorized(
                "the session has expired; sign in again",
            ));
        }
        Err(ApiError::unauthorized("sign in first"))
    }
}

/// The header that carries an API token for clients that cannot send a header value with a
/// space in it: mod_curl splits its arguments on spaces, so the outbound blocklist's dialplan
/// cannot say `Authorization: Bearer ...`.
pub const TOKEN_HEADER: &str = "x-switchdesk-token";

/// The API token of a request: `Authorization: Bearer <token>`, else `X-Switchdesk-Token`.
fn api_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| Some(token.trim()))
            .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"));
    }
    match headers.get(TOKEN_HEADER) {
        Some(value) => value
            .to_str()
            .map(|token| Some(token.trim()))
            .map_err(|_| ApiError::unauthorized("X-Switchdesk-Token is not a token")),
        None => Ok(None),
    }
}

/// The session token from the `Cookie` header(s), if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}

/// `Set-Cookie` for a new session: script-proof, same-site only, lives as long as the session.
pub(crate) fn session_cookie(config: &HttpConfig, token: &str) -> Result<HeaderValue, ApiError> {
    let max_age = config.session_hours.saturating_mul(3600);
    cookie(
        config,
        &format!("{SESSION_COOKIE}={token}; Max-Age={max_age}"),
    )
}

/// `Set-Cookie` that makes the browser forget the session.
pub(crate) fn cleared_cookie(config: &HttpConfig) -> Result<HeaderValue, ApiError> {
    cookie(config, &format!("{SESSION_COOKIE}=; Max-Age=0"))
}

fn cookie(config: &HttpConfig, start: &str) -> Result<HeaderValue, ApiError> {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{start}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("theme=dark; other=1"));
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=b; switchdesk_session=sds_abc; c=d"),
        );
        assert_eq!(session_token(&headers), Some("sds_abc"));
        assert_eq!(session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let mut config = HttpConfig {
            session_hours: 2,
            ..HttpConfig::default()
        };
        let set = session_cookie(&config, "sds_x").unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("switchdesk_session=sds_x; Max-Age=7200; Path=/"));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(!set.contains("Secure"));
        config.secure_cookies = true;
        assert!(cleared_cookie(&config)
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }
}
