//! `POST /api/cdr`: where FreeSWITCH's mod_xml_cdr delivers each leg's record. Speaks what
//! mod_xml_cdr sends (a form body `cdr=<percent-encoded XML>`, or the raw XML with
//! `encode=textxml`), checks its HTTP basic credentials (`[cdr]` in the configuration), and
//! answers 200 only once the CDR is committed: anything else makes mod_xml_cdr retry, which is
//! what makes ingest lossless. A CDR posted again answers 200 and changes nothing.
//!
//! A document that can never be stored (hostile, broken, or holding a NUL character) is the
//! client's fault: 400, counted as `rejected`. Only the database's failures are 503 (with
//! `Retry-After`), and their text stays in the log, under the error id the answer gives.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::error::logged_error;
use super::{ApiError, AppState};
use crate::cdr::{cdr_from_form, parse_cdr, IngestError, Ingested};
use crate::metrics::CDR_RECEIVED_TOTAL;

const HELP: &str = "CDRs received from mod_xml_cdr, by result.";

/// mod_xml_cdr's credentials, checked from the request's head: a poster without them is
/// refused before its body is read.
pub(crate) struct CdrPoster;

impl FromRequestParts<AppState> for CdrPoster {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        check_credentials(state, &parts.headers).map_err(|reason| {
            count(state, "unauthorized");
            // Loud: a switch whose credentials are wrong loses every CDR to err-log-dir.
            tracing::warn!(
                query = parts.uri.query().unwrap_or(""),
                "CDR POST refused ({reason}): FreeSWITCH's switchdesk_cdr_cred must match \
                 [cdr] username and password"
            );
            refuse(reason)
        })?;
        Ok(CdrPoster)
    }
}

pub(crate) async fn receive(
    State(state): State<AppState>,
    _: CdrPoster,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let xml = if form {
        cdr_from_form(&body)
    } else {
        Ok(body.to_vec())
    };
    let cdr = match xml.and_then(|xml| parse_cdr(&xml).map(|cdr| (cdr, xml))) {
        Ok(parsed) => parsed,
        Err(e) => {
            count(&state, "rejected");
            tracing::warn!("CDR refused: {e}");
            return Err(ApiError::bad_request(e.to_string()));
        }
    };
    let (cdr, xml) = cdr;
    let Ok(document) = String::from_utf8(xml) else {
        count(&state, "rejected");
        return Err(ApiError::bad_request("CDR is not UTF-8 text"));
    };
    let cdr = Arc::new(cdr);
    let ingested = state.cdrs.ingest(cdr.clone(), document).await;
    // A fax the CDR reports is recorded inside the ingest; until it is, no 200.
    match ingested {
        Ok(Ingested::Stored { call_id, ticket_id }) => {
            count(&state, "stored");
            Ok(Json(json!({"stored": true, "call": call_id, "ticket": ticket_id})).into_response())
        }
        Ok(Ingested::Duplicate { call_id }) => {
            count(&state, "duplicate");
            Ok(Json(json!({"stored": false, "duplicate": true, "call": call_id})).into_response())
        }
        Err(e @ (IngestError::Store(_) | IngestError::Fax(_))) => {
            count(&state, "failed");
            let what = match e {
                IngestError::Fax(_) => "fax not recorded",
                _ => "CDR not stored",
            };
            let id = logged_error(&e);
            Ok(unavailable(&format!("{what}, retry later (error {id})")))
        }
        Err(IngestError::Stopped) => {
            count(&state, "failed");
            Ok(unavailable(
                "CDR ingest is restarting or shutting down, retry later",
            ))
        }
    }
}

fn count(state: &AppState, result: &str) {
    state
        .metrics
        .inc(CDR_RECEIVED_TOTAL, HELP, &[("result", result)], 1);
}

fn unavailable(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message).into_response();
    response
        .headers_mut()
        .insert("Retry-After", HeaderValue::from_static("5"));
    response
}

/// A 401 asking for basic credentials.
fn refuse(message: &str) -> Response {
    let mut response = ApiError::unauthorized(message).into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"switchdesk cdr\""),
    );
    response
}

/// HTTP basic against `[cdr]`; why not, otherwise.
fn check_credentials(state: &AppState, headers: &HeaderMap) -> Result<(), &'static str> {
    let expected = &state.config.cdr;
    if expected.password.is_empty() {
        return Err("CDR ingest has no credentials configured (set cdr.password)");
    }
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .ok_or("expected HTTP basic credentials")?;
    let wanted = format!("{}:{}", expected.username, expected.password.expose());
    // Compared as digests, so the time taken says nothing about how much matched.
    if Sha256::digest(&given) == Sha256::digest(wanted.as_bytes()) {
        Ok(())
    } else {
        Err("wrong CDR credentials")
    }
}
