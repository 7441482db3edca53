//! What happens to every response on its way out: errors become JSON, protective headers are
//! added, and the response is counted in `switchdesk_http_requests_total`.

use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::metrics::HTTP_REQUESTS_TOTAL;

pub(crate) async fn finish(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !is_json(&response) {
        response = as_json_error(response);
    }
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // API answers are live data; assets set their own policy.
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    state.metrics.inc(
        HTTP_REQUESTS_TOTAL,
        "HTTP responses sent, by status code.",
        &[("status", status.as_str())],
        1,
    );
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Replaces the body of a plain-text error (from axum or a tower layer) with the JSON shape,
/// keeping its status and headers such as `Allow`.
fn as_json_error(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let (json_parts, body) = ApiError::for_status(parts.status)
        .into_response()
        .into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    if let Some(content_type) = json_parts.headers.get(CONTENT_TYPE) {
        parts.headers.insert(CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, body)
}
