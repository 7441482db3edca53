//! `GET /api/stats/history`: what the wallboard charts, for supervisors: per queue, a point per
//! stored interval of the last hours (callers waiting, the queue's agents by state, service
//! level) and how well today's announced expected waits held (the median error).

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::roles::{Authorized, Supervisor};
use super::{ApiError, AppState};
use crate::clock;
use crate::stats::history::{self, MAX_HOURS};
use crate::stats::promises;

/// The span without `hours`.
const DEFAULT_HOURS: u32 = 4;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct HistoryQuery {
    hours: Option<String>,
    queue: Option<String>,
}

/// `GET /api/stats/history?hours=4[&queue=NAME]`: every queue (or one), with its agents (the
/// members now: their time is what the agents' chart shows), its points from the interval
/// `hours` ago to the one running now, and `promises_today` (since the day's start).
pub(crate) async fn history(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let hours = match query.hours.as_deref().filter(|h| !h.is_empty()) {
        None => DEFAULT_HOURS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=MAX_HOURS).contains(h))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "hours {text:?} is not a whole number from 1 to {MAX_HOURS}"
                ))
            })?,
    };
    let queue = query.queue.as_deref().unwrap_or("");
    let views = state.board.queues().await?;
    if !queue.is_empty() && !views.iter().any(|v| v.name == queue) {
        return Err(ApiError::not_found(format!("no queue named {queue:?}")));
    }
    let stats = &state.config.stats;
    let interval_ms = stats.interval_ms();
    let now = clock::now();
    let from = history::span_start(now, hours, interval_ms);
    let queue_rows = state.store.queue_intervals(from, now + 1, queue).await?;
    let agent_rows = state.store.agent_intervals(from, now + 1, "").await?;
    let today = stats.day().start_of(now);
    let promised = promises::by_queue(&state.store.wait_promises(today, now + 1, queue).await?);
    let queues: Vec<Value> = views
        .iter()
        .filter(|v| queue.is_empty() || v.name == queue)
        .map(|v| {
            let members: Vec<String> = v.agents.iter().map(|a| a.name.clone()).collect();
            let chart = history::queue_history(
                &v.name,
                &members,
                &queue_rows,
                &agent_rows,
                (from, now),
                interval_ms,
            );
            json!({
                "queue": chart.queue,
                "agents": chart.agents,
                "points": chart.points,
                "promises_today": promised.get(&v.name).copied().unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({
        "from": from,
        "to": now,
        "interval_ms": interval_ms,
        "hours": hours,
        "queues": queues,
    })))
}
