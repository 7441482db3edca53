//! The one error shape of the API: `{"error": "human text", "code": "machine_word"}`.
//!
//! Also converts axum's own rejections (bad JSON, oversized bodies) and the fallback for unknown
//! routes into that shape. Internal details (database and driver text above all) are logged
//! with an error id, never sent to the client: a 5xx says only that id.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::input;
use crate::store::StoreError;
use crate::users::{Role, UserError};

/// An error response; build it with the constructors, return it from a handler.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Sent as `Retry-After` (whole seconds, at least one).
    retry_after: Option<Duration>,
    /// The leading instance's address, for a standby's refusal (`leader` in the body).
    leader: Option<String>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            leader: None,
        }
    }

    /// `503 standby`: this instance stands by; the engine is driven by the leader at
    /// `leader` (when known), where the client should send the request.
    pub fn standby(message: impl Into<String>, leader: Option<String>) -> ApiError {
        ApiError {
            retry_after: Some(Duration::from_secs(1)),
            leader,
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "standby", message)
        }
    }

    /// `429` with `Retry-After`: the client must wait `retry_after` before trying again.
    pub fn too_many_requests(message: impl Into<String>, retry_after: Duration) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(required: Role) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs the {required} role or higher"),
        )
    }

    /// Fields of the request the caller's role may not change.
    pub fn forbidden_fields(fields: &[&str], required: Role) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "changing {} needs the {required} role or higher",
                fields.join(", ")
            ),
        )
    }

    /// A browser page from another site tried to use this one's session (`/ws`, writes).
    /// `403` for a reason other than the role.
    pub fn refused(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn forbidden_origin() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "requests from another origin are refused",
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn payload_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
    }

    /// Logs `detail` and tells the client only that something went wrong on our side, with
    /// the id the log line carries.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        let id = logged_error(detail);
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error {id}; see the service log"),
        )
    }

    /// The JSON error for a response some layer produced without a body we control.
    pub(crate) fn for_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::UNAUTHORIZED => ApiError::unauthorized("sign in first"),
            StatusCode::FORBIDDEN => ApiError::new(status, "forbidden", "not allowed"),
            StatusCode::NOT_FOUND => ApiError::not_found("no such route"),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
            StatusCode::CONFLICT => ApiError::conflict("conflict"),
            s if s.is_server_error() => ApiError::new(s, "internal", "internal error"),
            s => ApiError::new(
                s,
                "bad_request",
                s.canonical_reason().unwrap_or("bad request").to_lowercase(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message, "code": self.code });
        if let Some(leader) = &self.leader {
            body["leader"] = json!(leader);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            // Rounded up: a client that waits exactly this long is let in.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            other => ApiError::internal(&other),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> ApiError {
        match error {
            UserError::InvalidName(_) | UserError::InvalidPassword => {
                ApiError::bad_request(error.to_string())
            }
            UserError::Store(e) => e.into(),
            UserError::Busy => {
                ApiError::too_many_requests(error.to_string(), Duration::from_secs(1))
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "expected a JSON body with Content-Type: application/json",
            ),
            s if s.is_server_error() => ApiError::internal(&rejection.body_text()),
            // Syntax errors and well-formed JSON of the wrong shape alike: the client sent a
            // body we cannot use.
            _ => ApiError::bad_request(rejection.body_text()),
        }
    }
}

/// Logs a failure the client must not see (a database's or a driver's text) under a fresh
/// error id, and returns the id, for the response to name.
pub(crate) fn logged_error(detail: &dyn std::fmt::Display) -> String {
    let id = format!("{:016x}", rand::random::<u64>());
    tracing::error!(error_id = %id, error = %detail, "request failed");
    id
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
            s if s.is_server_error() => ApiError::internal(&rejection.body_text()),
            _ => ApiError::bad_request(rejection.body_text()),
        }
    }
}

/// A JSON body, as `axum::Json` reads it (same content type rule, same errors), except that
/// text holding U+0000 is refused with a 400 naming the field before anything else sees it:
/// PostgreSQL cannot store it, and no field of ours has a use for it. Rejections are
/// [`ApiError`]s.
pub(crate) struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state).await?;
        input::refuse_nul_in_json(&bytes)?;
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(value))
    }
}

/// `application/json` or `application/<anything>+json`, parameters aside (axum's rule).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

/// The fallback for paths no route matches.
pub(crate) async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
}
