//! The blocklist over HTTP: entries for supervisors, a check for dialplans and scripts, and
//! "block this caller" in one call. Numbers are normalized here, so entries match what the
//! switchboard compares (E.164).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiJson;
use super::roles::{Agent, Authorized, Supervisor};
use super::{ApiError, AppState, Auth};
use crate::blocklist::{Direction, Entry, Match, Treatment};
use crate::clock::{self, Millis};
use crate::fsarg::ChannelUuid;
use crate::store::BlockedAttempt;

/// Puts what users typed into E.164 and checks the entry.
fn prepare(state: &AppState, entry: &mut Entry) -> Result<(), ApiError> {
    let numbering = state.phonebook.numbering();
    match &mut entry.matches {
        Match::Number(n) => {
            *n = numbering
                .normalize(n)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        Match::Prefix(p) => {
            *p = numbering
                .normalize_prefix(p)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        Match::Name(_) => {}
    }
    entry
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Stores the entry, swaps the switchboard's list for the stored one and records the change
/// (with the entry as it was, for an update).
async fn store_entry(state: &AppState, auth: &Auth, entry: &Entry) -> Result<Entry, ApiError> {
    let before = stored_entry(state, entry.id).await?;
    let saved = state.store.save_block(entry).await?;
    state.blocklist.replace(state.store.blocks().await?);
    let action = if before.is_some() { "update" } else { "create" };
    let change = auth.change("blocklist", action, saved.id).before(&before);
    state.audit(change.after(&saved)).await;
    Ok(saved)
}

/// Entry `id` as stored (none for 0, a new entry).
async fn stored_entry(state: &AppState, id: i64) -> Result<Option<Entry>, ApiError> {
    if id == 0 {
        return Ok(None);
    }
    Ok(state.store.blocks().await?.into_iter().find(|e| e.id == id))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
) -> Result<Json<Vec<Entry>>, ApiError> {
    Ok(Json(state.store.blocks().await?))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    ApiJson(mut entry): ApiJson<Entry>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    entry.id = 0;
    entry.added_by = auth.name.clone();
    prepare(&state, &mut entry)?;
    Ok((
        StatusCode::CREATED,
        Json(store_entry(&state, &auth, &entry).await?),
    ))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(id): Path<i64>,
    ApiJson(mut entry): ApiJson<Entry>,
) -> Result<Json<Entry>, ApiError> {
    entry.id = id;
    prepare(&state, &mut entry)?;
    Ok(Json(store_entry(&state, &auth, &entry).await?))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let before = stored_entry(&state, id).await?;
    if !state.store.delete_block(id).await? {
        return Err(ApiError::not_found(format!(
            "blocklist entry {id} not found"
        )));
    }
    state.blocklist.replace(state.store.blocks().await?);
    let change = auth.change("blocklist", "delete", id).before(&before);
    state.audit(change).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default = "default_audit")]
    limit: u32,
}

fn default_audit() -> u32 {
    100
}

/// `GET /api/blocklist/audit`: refused calls, newest first.
pub(crate) async fn audit(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<BlockedAttempt>>, ApiError> {
    Ok(Json(
        state
            .store
            .blocked_attempts(query.limit.clamp(1, 1_000))
            .await?,
    ))
}

#[derive(Deserialize)]
pub(crate) struct CheckQuery {
    number: String,
    #[serde(default = "inbound")]
    direction: String,
    #[serde(default)]
    name: String,
    /// The channel asking (the dialplan sends `${uuid}`), for the audit.
    #[serde(default)]
    call: String,
}

fn inbound() -> String {
    "inbound".into()
}

/// `GET /api/blocklist/check?number=&direction=inbound|outbound[&name=][&call=UUID]`: for a
/// dialplan (mod_curl) or a script. Answers `{"blocked": bool, ...}`; an unreadable number is
/// never blocked by number, only by name. A "blocked" answer is a refused call (the dialplan
/// hangs up on it), so it counts as a hit and goes into the audit like the calls switchdesk
/// refuses itself.
pub(crate) async fn check(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(query): Query<CheckQuery>,
) -> Result<Json<Value>, ApiError> {
    let direction = match Direction::parse(&query.direction) {
        Some(d @ (Direction::Inbound | Direction::Outbound)) => d,
        _ => {
            return Err(ApiError::bad_request(
                "direction must be inbound or outbound",
            ))
        }
    };
    let number = state
        .phonebook
        .numbering()
        .normalize(&query.number)
        .unwrap_or_else(|_| query.number.trim().to_owned());
    let now = clock::now();
    let entry = state.blocklist.check(direction, &number, &query.name, now);
    if let Some(entry) = &entry {
        audit_check(&state, entry, direction, &number, &query, now).await;
    }
    Ok(Json(match entry {
        Some(entry) => json!({
            "blocked": true,
            "number": number,
            "entry": entry.id,
            "action": entry.treatment.label(),
            "argument": entry.treatment.argument(),
            "reason": entry.reason,
        }),
        None => json!({ "blocked": false, "number": number }),
    }))
}

/// Counts the hit and audits it. The answer matters more than the record: a store that fails
/// here is logged, and the caller is still told the number is blocked.
async fn audit_check(
    state: &AppState,
    entry: &Entry,
    direction: Direction,
    number: &str,
    query: &CheckQuery,
    now: Millis,
) {
    // Only a channel UUID is kept as the call; anything else a script sends is dropped.
    let call = ChannelUuid::parse(&query.call)
        .map(|uuid| uuid.as_str().to_owned())
        .unwrap_or_default();
    let attempt = BlockedAttempt {
        id: 0,
        entry_id: Some(entry.id),
        direction: direction.as_str().to_owned(),
        number: number.to_owned(),
        name: query.name.clone(),
        call_uuid: call,
        action: match direction {
            Direction::Outbound => "not_dialled".to_owned(),
            _ => entry.treatment.label().to_owned(),
        },
        at: now,
    };
    tracing::info!(
        entry = entry.id,
        direction = direction.as_str(),
        number,
        call = %attempt.call_uuid,
        "blocklist check refused a call"
    );
    if let Err(e) = state.store.record_block_hit(entry.id, &attempt).await {
        tracing::error!(entry = entry.id, "could not record a blocklist hit: {e}");
    }
}

#[derive(Deserialize)]
pub(crate) struct BlockCaller {
    /// The caller's call UUID, waiting now or recent.
    call: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    treatment: Treatment,
    #[serde(default = "both")]
    direction: Direction,
    #[serde(default)]
    expires_at: Option<Millis>,
    /// Hang up the caller if they are still waiting (default yes).
    #[serde(default = "yes")]
    hang_up: bool,
}

fn both() -> Direction {
    Direction::Both
}

fn yes() -> bool {
    true
}

/// `POST /api/blocklist/block-caller`: blocks the number of a waiting or recent caller, and
/// hangs them up if they still wait.
pub(crate) async fn block_caller(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    ApiJson(request): ApiJson<BlockCaller>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller =
        state.board.caller(&request.call).await?.ok_or_else(|| {
            ApiError::not_found(format!("no recent caller on call {}", request.call))
        })?;
    let mut entry = Entry {
        id: 0,
        matches: Match::Number(caller.number.clone()),
        direction: request.direction,
        treatment: request.treatment,
        expires_at: request.expires_at,
        reason: request.reason,
        added_by: auth.name.clone(),
        hits: 0,
        last_hit_at: None,
        created_at: 0,
    };
    prepare(&state, &mut entry)?;
    let entry = store_entry(&state, &auth, &entry).await?;
    let hung_up = request.hang_up && state.board.eject(&request.call).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "entry": entry, "hung_up": hung_up })),
    ))
}
