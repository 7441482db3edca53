//! The audit log over HTTP: how a route records a change (`auth.change(...)` then
//! `state.audit(entry)`, once the change committed) and `GET /api/audit` for admins.
//!
//! Rows are written right after the change they describe committed (the switchboard's
//! settings: once its writer acknowledged the commit), never before: a refused or failed
//! change leaves no row. A row that cannot be written is logged at ERROR; the change it
//! describes stands and is answered as usual.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::json;

use super::download::{self, CsvChoice};
use super::reports::parse_moment;
use super::roles::{Admin, Authorized};
use super::{ApiError, AppState, Auth, Credential};
use crate::audit::{change_text, AuditEntry};
use crate::store::AuditFilter;

/// Largest page.
const MAX_PAGE: u32 = 1_000;

impl Auth {
    /// A record of this caller doing `action` to the `kind` named `target`, from their address.
    /// An API token acts as `token:NAME`.
    pub(crate) fn change(&self, kind: &str, action: &str, target: impl ToString) -> AuditEntry {
        let actor = match self.credential {
            Credential::Session => self.name.clone(),
            Credential::Token => format!("token:{}", self.name),
        };
        AuditEntry::new(actor, self.role.to_string(), kind, action, target).peer(self.peer)
    }
}

impl AppState {
    /// Records a change that committed. An update that changed nothing is not recorded; a row
    /// the store cannot take is logged (the change stands).
    pub(crate) async fn audit(&self, entry: AuditEntry) {
        if !entry.changes_something() {
            return;
        }
        if let Err(e) = self.store.record_audit(&entry).await {
            tracing::error!(
                kind = %entry.kind,
                action = %entry.action,
                target = ?entry.target,
                actor = ?entry.actor,
                "could not record an audit row: {e}"
            );
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    /// The `next_before` of the previous page.
    before: Option<i64>,
    limit: Option<u32>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// `GET /api/audit?from&to&kind&actor&target&before&limit&format=json|csv` (admin): the audit
/// log, newest first. JSON answers `{entries, next_before}`: pass `next_before` as `before`
/// for the next page (null on the last one).
pub(crate) async fn list(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    let moment = |name: &str, text: &Option<String>| {
        text.as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_moment(name, t))
            .transpose()
    };
    let given = |text: Option<String>| text.filter(|t| !t.is_empty());
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let filter = AuditFilter {
        from: moment("from", &query.from)?,
        to: moment("to", &query.to)?,
        kind: given(query.kind),
        actor: given(query.actor),
        target: given(query.target),
        before: query.before,
        limit: Some(limit),
    };
    let entries = state.store.audit_log(&filter).await?;
    match query.format.as_deref() {
        None | Some("json") => {
            let next_before = (entries.len() == limit as usize)
                .then(|| entries.last().map(|e| e.id))
                .flatten();
            Ok(Json(json!({ "entries": entries, "next_before": next_before })).into_response())
        }
        Some("csv") => {
            let dialect = choice.dialect(&state, &auth, &headers).await?;
            Ok(download::csv(
                "audit",
                dialect,
                &[
                    "id", "at", "actor", "role", "kind", "action", "target", "change", "peer",
                ],
                entries.iter().map(audit_cells),
            ))
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "format {other:?} is not json or csv"
        ))),
    }
}

fn audit_cells(entry: &AuditEntry) -> [String; 9] {
    let at = Utc
        .timestamp_millis_opt(entry.at)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    [
        entry.id.to_string(),
        at,
        entry.actor.clone(),
        entry.actor_role.clone(),
        entry.kind.clone(),
        entry.action.clone(),
        entry.target.clone(),
        change_text(entry),
        entry.peer.clone().unwrap_or_default(),
    ]
}
