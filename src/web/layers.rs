//! What every request passes through: writes riding on the session cookie must come from this
//! site's own pages (cross-site request forgery), and on the way out errors become JSON,
//! protective headers are added, and the response is counted in
//! `switchdesk_http_requests_total`.

use axum::extract::{Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, REFERER,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::session_token;
use super::{ApiError, AppState};
use crate::metrics::HTTP_REQUESTS_TOTAL;

/// Refuses (403) a POST, PUT, PATCH or DELETE that a page of another site could have made
/// with the user's session cookie. Such a write must name this site in `Origin` (or, from a
/// browser that sends none, `Referer`): the request's own `Host`, or one of
/// `http.allowed_origins`. Browsers send `Origin` with every such `fetch`, so the dashboard
/// passes. Requests that carry `Authorization` (API tokens, mod_xml_cdr's basic auth) are not
/// sent by browsers on their own and need no `Origin`; a foreign `Origin` is refused on any
/// write, signing in included.
pub(crate) async fn same_site_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if writes {
        let headers = request.headers();
        let allowed = &state.config.http.allowed_origins;
        let verdict = match claimed_origin(headers) {
            Some(origin) => is_own_origin(origin, headers, allowed),
            None => headers.contains_key(AUTHORIZATION) || session_token(headers).is_none(),
        };
        if !verdict {
            let origin = claimed_origin(headers).unwrap_or("none");
            tracing::warn!(
                method = %request.method(),
                path = %request.uri().path(),
                origin = ?origin.chars().take(100).collect::<String>(),
                "cross-site write refused"
            );
            return ApiError::forbidden_origin().into_response();
        }
    }
    next.run(request).await
}

/// The page the request came from, as the browser tells it: `Origin`, else `Referer`.
fn claimed_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(ORIGIN)
        .or_else(|| headers.get(REFERER))
        .map(|v| v.to_str().unwrap_or("null"))
}

/// Whether `origin` (an `Origin`, or any URL of that origin such as a `Referer`) is this server
/// as the browser reached it (the request's `Host`), or one of `allowed`
/// (`https://desk.example.com`, for a proxy that rewrites `Host`). `null` never is.
pub(crate) fn is_own_origin(origin: &str, headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return false;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    authority.eq_ignore_ascii_case(host)
        || allowed.iter().any(|a| {
            a.trim_end_matches('/')
                .eq_ignore_ascii_case(&format!("{scheme}://{authority}"))
        })
}

/// For routes that take a file as the body (the phone-book import): the body must say what it
/// is, with a type a page of another site cannot send without the browser asking first
/// (`text/plain`, form encodings), so a file upload is never a simple cross-site request.
pub(crate) async fn file_upload(request: Request, next: Next) -> Response {
    let essence = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        None
        | Some("")
        | Some("text/plain")
        | Some("application/x-www-form-urlencoded")
        | Some("multipart/form-data") => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "send the file as the body with its own Content-Type (text/csv, text/vcard or \
             application/octet-stream)",
        )
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

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

/// How a failed request is logged (`TraceLayer`'s failures): at ERROR, except a 503, which
/// is what an instance means to say (a standby's `/healthz/leader` and engine writes, a busy
/// switchboard, an unhealthy `/healthz`, whose cause its own task logs) and a load balancer
/// asks for every second: at DEBUG, so a standby's log is not an ERROR a second.
pub(crate) fn log_failure(
    class: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::ServerErrorsFailureClass::StatusCode as Status;
    match class {
        Status(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::debug!(?latency, "response 503 service unavailable")
        }
        class => tracing::error!(classification = %class, ?latency, "response failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn an_origin_is_own_when_it_names_the_host_or_an_allowed_origin() {
        let headers = host("desk.local:8080");
        assert!(is_own_origin("http://desk.local:8080", &headers, &[]));
        assert!(is_own_origin(
            "http://DESK.local:8080/admin?x#y",
            &headers,
            &[]
        ));
        assert!(!is_own_origin("http://desk.local:8081", &headers, &[]));
        assert!(!is_own_origin("http://evil.example", &headers, &[]));
        assert!(!is_own_origin(
            "http://desk.local:8080.evil.example",
            &headers,
            &[]
        ));
        assert!(!is_own_origin("null", &headers, &[]));
        assert!(!is_own_origin("http://", &HeaderMap::new(), &[]));
        let allowed = vec!["https://desk.example.com/".to_string()];
        assert!(is_own_origin(
            "https://desk.example.com",
            &headers,
            &allowed
        ));
        assert!(!is_own_origin(
            "http://desk.example.com",
            &headers,
            &allowed
        ));
    }
}
