//! Incidents over HTTP: `POST /api/alarms` (monitoring's webhooks: Zabbix and Alertmanager,
//! with a supervisor+ API token), the list with steps, taking and resolving one, and the
//! report of take and resolve times. What an alarm does is [`crate::incidents`]' business.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiJson;
use super::reports::Period;
use super::roles::{Agent, Authorized, Manager, Supervisor};
use super::{ApiError, AppState};
use crate::clock;
use crate::incidents::{alarm, report, rules, Incident, IncidentError, IncidentStatus};
use crate::users::Role;

/// Incidents resolved this long ago are still listed (hours), by default.
const RECENT_HOURS: i64 = 24;
/// The most incidents one listing returns.
const MAX_LISTED: u32 = 200;

/// `POST /api/alarms`: a Zabbix webhook's parameters or an Alertmanager notification (see
/// `incidents::alarm` and the README). 200 with what each alarm did; a document that is
/// not one of them is 400 with the reason, and nothing of it is stored.
pub(crate) async fn alarms(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    ApiJson(document): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let alarms = alarm::parse(&document).map_err(|e| {
        tracing::warn!(token = ?auth.name, "alarm refused: {e}");
        ApiError::bad_request(e.to_string())
    })?;
    let received = state.incidents.receive(&alarms, clock::now()).await?;
    tracing::info!(by = ?auth.name, alarms = alarms.len(), "alarms received");
    Ok(Json(json!({ "received": received })))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Resolved incidents are listed this many hours after (default 24).
    recent_hours: Option<i64>,
}

/// `GET /api/incidents`: those not resolved and those resolved lately, newest first, with
/// their steps. Anyone signed in (agents take them).
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let hours = query.recent_hours.unwrap_or(RECENT_HOURS);
    if !(0..=24 * 366).contains(&hours) {
        return Err(ApiError::bad_request("recent_hours must be 0 to 8784"));
    }
    let now = clock::now();
    let since = now.saturating_sub(hours.saturating_mul(3_600_000));
    let incidents = state.store.incidents(since, MAX_LISTED).await?;
    let config = state.incidents.config();
    Ok(Json(json!({
        "incidents": incidents,
        "take_within_secs": config.take_within_secs,
        "resolve_within_secs": config.resolve_within_secs,
        "lines": state.config.tickets.lines,
        "at": now,
    })))
}

/// `POST /api/incidents/{id}/take`: the caller claims it (its resolve timer starts). 409 when
/// somebody took it first or it is resolved.
pub(crate) async fn take(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<i64>,
) -> Result<Json<Incident>, ApiError> {
    let incident = state
        .incidents
        .take(id, &auth.name)
        .await
        .map_err(refused)?;
    let change = auth.change("incident", "take", id);
    let change = change.before(&json!({ "status": IncidentStatus::Open }));
    state
        .audit(change.after(&json!({ "status": incident.status, "taken_by": incident.taken_by })))
        .await;
    Ok(Json(incident))
}

/// `POST /api/incidents/{id}/resolve`: resolves it and its ticket. An agent resolves one
/// nobody took or one they took; somebody else's is a supervisor's.
pub(crate) async fn resolve(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<i64>,
) -> Result<Json<Incident>, ApiError> {
    let before = state
        .store
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("incident {id} not found")))?;
    if !rules::may_resolve(&before, &auth.name, auth.role) {
        return Err(ApiError::forbidden(Role::Supervisor));
    }
    let incident = state
        .incidents
        .resolve(id, &auth.name)
        .await
        .map_err(refused)?;
    let change = auth.change("incident", "resolve", id);
    state
        .audit(change.after(&json!({ "status": incident.status })))
        .await;
    Ok(Json(incident))
}

/// `GET /api/reports/incidents?from=&to=`: per organization and line, incidents opened in
/// the period, how many were taken and resolved, timer escalations, and the mean times to
/// take and to resolve. Without a period: this month so far.
pub(crate) async fn report(
    State(state): State<AppState>,
    _: Authorized<Manager>,
    Query(period): Query<Period>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = period.bounds(clock::now())?;
    let incidents = state.store.incidents_opened(from, to).await?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "rows": report::rows(&incidents),
        "lines": state.config.tickets.lines,
    })))
}

fn refused(error: IncidentError) -> ApiError {
    match error {
        IncidentError::NotFound(id) => ApiError::not_found(format!("incident {id} not found")),
        IncidentError::Conflict(why) => ApiError::conflict(why),
        IncidentError::Store(e) => e.into(),
    }
}
