//! Queues and agents over HTTP: the live view for everyone on duty, status changes for agents
//! (their own) and supervisors (anyone's), settings for admins. Every rule is the engine's;
//! this module only maps requests and errors.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiJson;
use super::roles::{ActingFor, Admin, Agent, Authorized, Supervisor};
use super::{ApiError, AppState};
use crate::acd::{AcdError, AgentConfig, AgentStatus, AgentView, Overflow, QueueConfig};
use crate::fsarg::Endpoint;
use crate::switch::{BoardError, Eavesdrop, EavesdropMode};

impl From<BoardError> for ApiError {
    fn from(error: BoardError) -> ApiError {
        match &error {
            BoardError::Acd(
                AcdError::UnknownQueue(_) | AcdError::UnknownAgent(_) | AcdError::UnknownCall(_),
            ) => ApiError::not_found(error.to_string()),
            BoardError::Acd(AcdError::Invalid(_)) => ApiError::bad_request(error.to_string()),
            BoardError::Acd(
                AcdError::QueueBusy(_)
                | AcdError::QueueInUse { .. }
                | AcdError::DuplicateCall(_)
                | AcdError::NotWaiting(_)
                | AcdError::NotInCall(_),
            ) => ApiError::conflict(error.to_string()),
            BoardError::Switch(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "switch", error.to_string())
            }
            BoardError::Store(e) => ApiError::internal(e),
            BoardError::Stopped => ApiError::internal(&error),
            BoardError::Busy => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", error.to_string())
            }
            BoardError::Standby { leader } => ApiError::standby(error.to_string(), leader.clone()),
        }
    }
}

/// `GET /api/queues`: every queue with its waiting callers (each with who they were
/// identified as), agents and counters. `X-Switchdesk-View` says whose view it is: `own`, or
/// on a standby `leader; instance=...; epoch=...; published_at=...` (the leader's published
/// view).
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Agent>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let (queues, source) = state.live.queues_shown_from().await?;
    Ok(([(VIEW_HEADER, source.header())], Json(Value::Array(queues))))
}

/// The header that says whose view `GET /api/queues` answered with.
pub(crate) const VIEW_HEADER: &str = "x-switchdesk-view";

/// `PUT /api/queues/{name}` (admin): create or replace a queue's settings.
pub(crate) async fn save(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
    ApiJson(mut config): ApiJson<QueueConfig>,
) -> Result<StatusCode, ApiError> {
    config.name = name;
    let before = find_queue(&state, &config.name).await?;
    state.board.save_queue(config.clone()).await?;
    let action = if before.is_some() { "update" } else { "create" };
    let change = auth.change("queue", action, &config.name).before(&before);
    state.audit(change.after(&config)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The stored settings of queue `name`: what the switchboard was started with or last saved.
async fn stored_queue(state: &AppState, name: &str) -> Result<QueueConfig, ApiError> {
    find_queue(state, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no queue named {name:?}")))
}

/// The stored settings of queue `name`, if there is one.
async fn find_queue(state: &AppState, name: &str) -> Result<Option<QueueConfig>, ApiError> {
    Ok(state
        .store
        .queues()
        .await?
        .into_iter()
        .find(|q| q.name == name))
}

/// The stored settings of agent `name`, if there is one.
async fn find_agent(state: &AppState, name: &str) -> Result<Option<AgentConfig>, ApiError> {
    Ok(state
        .store
        .agents()
        .await?
        .into_iter()
        .map(|a| a.config)
        .find(|a| a.name == name))
}

/// `GET /api/queues/{name}/settings` (supervisor+): every setting of the queue, in the form
/// `PUT` and `PATCH` take.
pub(crate) async fn settings(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Path(name): Path<String>,
) -> Result<Json<QueueConfig>, ApiError> {
    Ok(Json(stored_queue(&state, &name).await?))
}

/// `PATCH /api/queues/{name}/settings` (admin): a JSON merge patch (RFC 7396) of the
/// settings: what it names changes, `null` puts a setting back to its default, everything
/// else stays. Checked and stored like `PUT`; answers the settings as stored.
pub(crate) async fn patch_settings(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<QueueConfig>, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request("the patch must be a JSON object"));
    }
    if patch
        .get("name")
        .is_some_and(|n| n.as_str() != Some(name.as_str()))
    {
        return Err(ApiError::bad_request(
            "name: a queue is renamed by creating the new one and moving its agents",
        ));
    }
    let current = stored_queue(&state, &name).await?;
    let mut merged = serde_json::to_value(&current).map_err(|e| ApiError::internal(&e))?;
    merge_patch(&mut merged, patch);
    let config: QueueConfig = serde_json::from_value(merged)
        .map_err(|e| ApiError::bad_request(format!("settings: {e}")))?;
    state.board.save_queue(config.clone()).await?;
    let change = auth.change("queue", "update", &name).before(&current);
    state.audit(change.after(&config)).await;
    Ok(Json(config))
}

/// RFC 7396: objects merge key by key, `null` removes a key, anything else replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    let Value::Object(changes) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(fields) = target {
        for (key, change) in changes {
            if change.is_null() {
                fields.remove(&key);
            } else {
                merge_patch(fields.entry(key).or_insert(Value::Null), change);
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct DeleteQueue {
    /// Where its waiting callers, its agents and the queues overflowing to it go first.
    move_to: Option<String>,
}

/// How long a delete with `move_to` goes on moving callers who arrive (or whose offer ends)
/// after the agents left, before it is refused as a queue still busy.
const MOVE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// `DELETE /api/queues/{name}[?move_to=QUEUE]` (admin): refused (409) while callers wait in
/// it, agents are its members or other queues overflow to it, naming them; with `move_to`,
/// they are moved there first (agents with their tier and position and the overflows, each
/// change recorded in the audit log, then the waiting callers with their arrival time and
/// priority, again until the queue is empty: a caller who arrives meanwhile is moved too).
pub(crate) async fn delete(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
    Query(options): Query<DeleteQueue>,
) -> Result<StatusCode, ApiError> {
    let before = find_queue(&state, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no queue named {name:?}")))?;
    match &options.move_to {
        Some(target) => {
            move_out_of(&state, &auth, &name, target).await?;
            remove_moving_callers(&state, &name, target).await?;
        }
        None => state.board.delete_queue(&name).await?,
    }
    let change = auth.change("queue", "delete", &name);
    state.audit(change.before(&before)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything that keeps queue `from` in use, sent to queue `to`.
async fn move_out_of(
    state: &AppState,
    auth: &Authorized<Admin>,
    from: &str,
    to: &str,
) -> Result<(), ApiError> {
    if to == from {
        return Err(ApiError::bad_request(format!(
            "move_to names the queue being removed ({from:?})"
        )));
    }
    let Some(target) = find_queue(state, to).await? else {
        return Err(ApiError::bad_request(format!(
            "move_to: no queue named {to:?}"
        )));
    };
    if target.overflow == Overflow::Queue(from.to_owned()) {
        return Err(ApiError::conflict(format!(
            "queue {to:?} overflows into {from:?}: give it another overflow first"
        )));
    }
    for agent in state.store.agents().await? {
        let before = agent.config;
        if !before.queues.iter().any(|m| m.queue == from) {
            continue;
        }
        let mut after = before.clone();
        let already_there = after.queues.iter().any(|m| m.queue == to);
        after.queues.retain_mut(|m| {
            if m.queue != from {
                return true;
            }
            m.queue = to.to_owned();
            !already_there
        });
        state.board.save_agent(after.clone()).await?;
        let change = auth.change("agent", "update", &after.name).before(&before);
        state.audit(change.after(&after)).await;
    }
    for queue in state.store.queues().await? {
        if queue.overflow != Overflow::Queue(from.to_owned()) {
            continue;
        }
        let mut after = queue.clone();
        after.overflow = Overflow::Queue(to.to_owned());
        state.board.save_queue(after.clone()).await?;
        let change = auth.change("queue", "update", &after.name).before(&queue);
        state.audit(change.after(&after)).await;
    }
    Ok(())
}

/// Moves the callers waiting in `from` to `to` and removes `from` once nobody waits there. A
/// caller connected meanwhile has left the queue (nothing to move); one who arrives meanwhile
/// is moved on the next round, until [`MOVE_PATIENCE`] has passed.
async fn remove_moving_callers(state: &AppState, from: &str, to: &str) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + MOVE_PATIENCE;
    loop {
        let waiting = state
            .board
            .queues()
            .await?
            .into_iter()
            .find(|q| q.name == from)
            .map(|q| q.waiting)
            .unwrap_or_default();
        for caller in waiting {
            match state.board.move_caller(&caller.call, to).await {
                Ok(()) => {}
                // Connected or gone since the view was read: no longer in the queue.
                Err(BoardError::Acd(AcdError::NotWaiting(_) | AcdError::UnknownCall(_))) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match state.board.delete_queue(from).await {
            Err(BoardError::Acd(AcdError::QueueBusy(_)))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            done => return done.map_err(ApiError::from),
        }
    }
}

/// `GET /api/agents/{name}`: the agent's own user, or a supervisor+.
pub(crate) async fn agent(
    State(state): State<AppState>,
    ActingFor { agent: name }: ActingFor,
) -> Result<Json<AgentView>, ApiError> {
    state
        .board
        .agent(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no agent named {name:?}")))
}

/// `PUT /api/agents/{name}` (admin): endpoint and queue memberships.
pub(crate) async fn save_agent(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
    ApiJson(mut config): ApiJson<AgentConfig>,
) -> Result<StatusCode, ApiError> {
    config.name = name;
    let before = find_agent(&state, &config.name).await?;
    state.board.save_agent(config.clone()).await?;
    let action = if before.is_some() { "update" } else { "create" };
    let change = auth.change("agent", action, &config.name).before(&before);
    state.audit(change.after(&config)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/agents/{name}` (admin)
pub(crate) async fn delete_agent(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let before = find_agent(&state, &name).await?;
    state.board.delete_agent(&name).await?;
    let change = auth.change("agent", "delete", &name);
    state.audit(change.before(&before)).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum StatusName {
    Available,
    OnBreak,
    LoggedOut,
}

#[derive(Deserialize)]
pub(crate) struct StatusChange {
    status: StatusName,
    #[serde(default)]
    reason: String,
}

/// `POST /api/agents/{name}/status`: `{"status": "available" | "on_break" | "logged_out", "reason": ".."}`.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    ActingFor { agent: name }: ActingFor,
    ApiJson(change): ApiJson<StatusChange>,
) -> Result<Json<Value>, ApiError> {
    let status = match change.status {
        StatusName::Available => AgentStatus::Available,
        StatusName::LoggedOut => AgentStatus::LoggedOut,
        StatusName::OnBreak => {
            let reason = change.reason.trim();
            if reason.is_empty() || reason.len() > 80 {
                return Err(ApiError::bad_request(
                    "a break needs a reason of 1-80 characters",
                ));
            }
            AgentStatus::OnBreak(reason.to_owned())
        }
    };
    state.board.set_agent_status(&name, status).await?;
    let view = state.board.agent(&name).await?;
    Ok(Json(json!({ "agent": view })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveTo {
    queue: String,
}

/// `POST /api/calls/{id}/move` (supervisor+): `{"queue": "sales"}` sends a waiting caller to
/// another queue, keeping their waiting time.
pub(crate) async fn move_caller(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Path(call): Path<String>,
    ApiJson(to): ApiJson<MoveTo>,
) -> Result<Json<Value>, ApiError> {
    state.board.move_caller(&call, &to.queue).await?;
    Ok(Json(json!({ "call": call, "queue": to.queue })))
}

/// `POST /api/calls/{id}/front` (supervisor+): the waiting caller is served next in their queue.
pub(crate) async fn to_front(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Path(call): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.board.to_front(&call).await?;
    Ok(Json(json!({ "call": call, "position": 1 })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EavesdropRequest {
    mode: EavesdropMode,
    /// Checked while reading: a bad one is a 400 naming `endpoint`.
    endpoint: Option<Endpoint>,
}

/// `POST /api/agents/{name}/eavesdrop` (supervisor+): `{"mode": "listen" | "whisper" |
/// "barge", "endpoint": "user/1009@default"}` rings the endpoint (by default the endpoint of
/// the ACD agent named like the supervisor) into the agent's call; answers once it picked up.
pub(crate) async fn eavesdrop(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(agent): Path<String>,
    ApiJson(request): ApiJson<EavesdropRequest>,
) -> Result<Json<Eavesdrop>, ApiError> {
    let endpoint = match request.endpoint {
        Some(endpoint) => endpoint,
        None => state
            .board
            .agent(&auth.name)
            .await?
            .map(|own| own.endpoint)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "give an endpoint: {:?} has no endpoint of their own",
                    auth.name
                ))
            })?,
    };
    let joined = state
        .board
        .eavesdrop(&agent, request.mode, &endpoint, &auth.name)
        .await?;
    Ok(Json(joined))
}
