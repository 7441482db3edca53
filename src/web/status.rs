//! Health and live state: `/healthz` for load balancers, `/metrics` for Prometheus and
//! `/api/status` for the dashboard.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::roles::{Authorized, Supervisor};
use super::{ApiError, AppState};
use crate::metrics::{
    ESL_CONNECTED, ESL_EVENTS_SHED_TOTAL, ESL_EVENTS_TOTAL, ESL_RECONNECTS_TOTAL,
};
use crate::switch::ViewSource;

/// A health check that hangs is as bad as a failed one.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /healthz` (public): 200 when the database stores a write (one row rewritten and
/// committed) and every supervised task runs, else 503 with the reason: a database that
/// answers reads but cannot commit (disk full, read-only) is not healthy, and neither is a
/// service whose CDR writer or switchboard is restarting. Down tasks are named in `tasks`
/// with their state; the database's own error text and a task's cause are only logged.
/// `role` says whether this instance is the `leader`, a `standby` (instances sharing
/// PostgreSQL) or `single` (SQLite), with `instance`; a healthy standby answers 200 too.
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    health(&state, false).await
}

/// `GET /healthz/leader` (public): as `/healthz`, but a healthy standby answers 503 with
/// `"code": "standby"`: the check a load balancer or keepalived sends traffic by.
pub(crate) async fn healthz_leader(State(state): State<AppState>) -> Response {
    health(&state, true).await
}

async fn health(state: &AppState, only_the_leader: bool) -> Response {
    let role = state.leadership.role();
    let instance = state.leadership.instance().to_owned();
    let database = database_problem(state).await;
    let down = state.tasks.down();
    if database.is_none() && down.is_empty() {
        let body = json!({ "status": "ok", "role": role.label(), "instance": instance });
        if only_the_leader && !role.leads() {
            let body = json!({
                "status": "standby",
                "role": role.label(),
                "instance": instance,
                "code": "standby",
                "error": "this instance stands by",
            });
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
        return Json(body).into_response();
    }
    let mut reasons: Vec<String> = database.iter().map(|r| (*r).to_owned()).collect();
    if !down.is_empty() {
        let names: Vec<&str> = down.iter().map(|t| t.task.as_str()).collect();
        let names = names.join(", ");
        tracing::warn!(tasks = %names, "health check failed: tasks down");
        reasons.push(format!("tasks down: {names}"));
    }
    let tasks: Vec<Value> = down
        .iter()
        .map(|t| json!({ "task": t.task, "state": t.state.label() }))
        .collect();
    let body = json!({
        "status": "unavailable",
        "error": reasons.join("; "),
        "code": "unavailable",
        "tasks": tasks,
        "role": role.label(),
        "instance": instance,
    });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Why the database is not healthy, if it is not.
async fn database_problem(state: &AppState) -> Option<&'static str> {
    let now = crate::clock::now();
    let error = match tokio::time::timeout(PING_TIMEOUT, state.store.check_writes(now)).await {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {PING_TIMEOUT:?}"),
    };
    let reads = matches!(
        tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await,
        Ok(Ok(()))
    );
    let reason = if reads {
        "the database answers but cannot store writes (disk full or read-only?)"
    } else {
        "the database is not reachable"
    };
    tracing::warn!(%error, reason, "health check failed: database");
    Some(reason)
}

/// `GET /metrics` (supervisor+, by session or API token): Prometheus text. The same figures
/// as `/api/status`, so the same role.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
) -> Result<Response, ApiError> {
    refresh_queue_metrics(&state).await;
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    Ok(([(CONTENT_TYPE, content_type)], state.metrics.render()).into_response())
}

/// How long a scrape waits for the switchboard's queue views before it shows the last ones.
const QUEUE_VIEWS_TIMEOUT: Duration = Duration::from_secs(2);

/// The queues' series as the switchboard shows them now (a busy switchboard keeps the last
/// ones), and whose view that is.
async fn refresh_queue_metrics(state: &AppState) -> Option<ViewSource> {
    match tokio::time::timeout(QUEUE_VIEWS_TIMEOUT, state.board.queues_and_source()).await {
        Ok(Ok((views, source))) => {
            crate::metrics::queues::record(&state.metrics, &views);
            Some(source)
        }
        Ok(Err(e)) => {
            tracing::debug!("queue metrics not refreshed: {e}");
            None
        }
        Err(_) => {
            tracing::debug!("queue metrics not refreshed: no answer in time");
            None
        }
    }
}

/// `GET /api/status` (supervisor+, like `/metrics` and the status view): the ESL link and
/// event counts by event name, plus every metric for whoever wants more.
pub(crate) async fn status(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
) -> Result<Json<Value>, ApiError> {
    let view = refresh_queue_metrics(&state).await;
    let metrics = state.metrics.snapshot_json();
    let total = |name: &str| state.metrics.get(name, &[]).unwrap_or(0.0) as u64;
    let mut events = BTreeMap::new();
    if let Some(series) = metrics[ESL_EVENTS_TOTAL]["series"].as_array() {
        for s in series {
            if let (Some(event), Some(count)) = (s["labels"]["event"].as_str(), s["value"].as_u64())
            {
                events.insert(event.to_string(), count);
            }
        }
    }
    let links = state.links.snapshot(crate::clock::now());
    let nodes: Vec<Value> = state
        .config
        .esl
        .all_nodes()
        .into_iter()
        .map(|(node, config)| {
            let labels = [("node", node.as_str())];
            let mut entry = json!({
                "node": node,
                "address": config.address(),
                "connected": state.metrics.get(ESL_CONNECTED, &labels) == Some(1.0),
                "reconnects": state.metrics.get(ESL_RECONNECTS_TOTAL, &labels).unwrap_or(0.0) as u64,
            });
            // The link's own view (since when, the switch's version and uptime, the last
            // heartbeat, events per second), where the service watches this node.
            if let Some(link) = links.iter().find(|l| l.node == node) {
                if let (Value::Object(entry), Ok(Value::Object(link))) =
                    (&mut entry, serde_json::to_value(link))
                {
                    for (key, value) in link {
                        entry.entry(key).or_insert(value);
                    }
                }
            }
            entry
        })
        .collect();
    Ok(Json(json!({
        "leadership": leadership_status(&state, view),
        "esl": {
            "connected": nodes.iter().all(|n| n["connected"] == true),
            "reconnects": nodes.iter().filter_map(|n| n["reconnects"].as_u64()).sum::<u64>(),
            "nodes": nodes,
            "events_shed": total(ESL_EVENTS_SHED_TOTAL),
            "events_total": events.values().sum::<u64>(),
        },
        "events": events,
        "metrics": metrics,
    })))
}

/// Which instance leads, as this one knows it: itself, or the leader the database names;
/// `view`: whose view of the queues this instance serves (a standby serves the leader's).
fn leadership_status(state: &AppState, view: Option<ViewSource>) -> Value {
    use crate::leadership::Role;
    let instance = state.leadership.instance();
    let mut status = match state.leadership.role() {
        Role::Single => json!({ "role": "single", "instance": instance, "leader": instance }),
        Role::Leader { epoch } => json!({
            "role": "leader",
            "instance": instance,
            "leader": instance,
            "epoch": epoch,
        }),
        Role::Standby { leader } => json!({
            "role": "standby",
            "instance": instance,
            "leader": leader.as_ref().map(|l| l.instance.clone()),
            "leader_address": leader.as_ref().map(|l| l.address.clone()),
            "epoch": leader.as_ref().map(|l| l.epoch),
        }),
    };
    status["view"] = json!(view);
    status
}
