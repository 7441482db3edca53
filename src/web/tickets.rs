//! Tickets over HTTP: the list with the manager's filters, search, pages and CSV, one ticket
//! with its calls, time and notes, edits, notes, and tickets opened by hand. Agents work
//! tickets; only managers star one ("company-wide / management"). Who works a ticket (its
//! assignee) is the floor's call: an agent takes an unassigned ticket or hands back their
//! own, a supervisor or above gives any ticket to anyone.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::download::{self, CsvChoice};
use super::error::ApiJson;
use super::roles::{Agent, Authorized};
use super::shown::Shown;
use super::{ApiError, AppState};
use crate::cdr::{CallKind, CallRecord};
use crate::clock::{self, Millis};
use crate::directory::model::{Contact, Organization};
use crate::directory::FoundRecord;
use crate::store::{CallFilter, FaxRecord, StoreError, TicketFilter, TicketSearch};
use crate::tickets::{
    NewTicket, Note, Status, Ticket, TicketEvent, TicketKind, TicketPatch, TimeEntry,
    PRIORITY_NORMAL, TOP_LINE,
};
use crate::users::Role;

const MAX_NOTE: usize = 20_000;
/// The longest search text.
const MAX_SEARCH: usize = 200;
/// Contacts and organizations a search's words are looked up among, and how close their name
/// must be (the phone book's score, 0..=1: a whole word scores at least 0.85).
const SEARCH_NAMES: usize = 50;
const NAME_SCORE: f32 = 0.8;
/// Rows a CSV export holds at most.
const MAX_EXPORT: u32 = 50_000;
/// Every ticket the filters match, on all pages: the list answers one page of them.
const TOTAL: HeaderName = HeaderName::from_static("x-total-count");

/// What the list takes besides the filters: a search and the format.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ListQuery {
    q: Option<String>,
    format: Option<String>,
}

/// `GET /api/tickets`: one page of the filtered tickets, with the total over every page in
/// `X-Total-Count`; `format=csv` is every page as a spreadsheet (an export: supervisor+).
pub(crate) async fn list(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    headers: HeaderMap,
    Query(mut filter): Query<TicketFilter>,
    Query(query): Query<ListQuery>,
    Query(choice): Query<CsvChoice>,
) -> Result<Response, ApiError> {
    if query.format.as_deref() == Some("csv") {
        auth.require(Role::Supervisor)?;
    }
    filter.caller_number = filter
        .caller_number
        .as_deref()
        .map(|raw| caller_as_filed(&state, raw))
        .transpose()?;
    if let Some(status) = filter.status.as_deref() {
        if status != "open" && Status::parse(status).is_none() {
            return Err(ApiError::bad_request(format!(
                "status {status:?} is not one of new, open, pending, resolved, closed"
            )));
        }
    }
    filter.search = match query.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) if text.len() > MAX_SEARCH => {
            return Err(ApiError::bad_request(format!(
                "q is at most {MAX_SEARCH} bytes"
            )))
        }
        Some(text) => Some(search(&state, text)),
    };
    match query.format.as_deref() {
        None | Some("json") => {
            let total = state.store.count_tickets(&filter).await?;
            let tickets = state.store.tickets(&filter).await?;
            Ok((
                [(TOTAL, total.to_string())],
                Json(Shown::all(&state, tickets)),
            )
                .into_response())
        }
        Some("csv") => {
            let dialect = choice.dialect(&state, &auth, &headers).await?;
            export(&state, filter, dialect).await
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "format {other:?} is not json or csv"
        ))),
    }
}

/// What a search's text matches: the subject's words, the caller's number in any written
/// form (read as the pop-up reads it), and the contacts and organizations the phone book finds
/// by that name or number (folded and transliterated, as its own search does).
fn search(state: &AppState, text: &str) -> TicketSearch {
    let (mut contacts, mut organizations) = (Vec::new(), Vec::new());
    for found in state.phonebook.search(text, SEARCH_NAMES) {
        if found.score < NAME_SCORE {
            continue;
        }
        match found.record {
            FoundRecord::Contact(id) => contacts.push(id),
            FoundRecord::Organization(id) => organizations.push(id),
        }
    }
    let number = state.phonebook.numbering().key(text);
    TicketSearch::new(text, number, contacts, organizations)
}

/// Every ticket the filters match, oldest pages last, as CSV a spreadsheet reads as data.
async fn export(
    state: &AppState,
    mut filter: TicketFilter,
    dialect: download::Dialect,
) -> Result<Response, ApiError> {
    const PAGE: u32 = 1000;
    let mut tickets = Vec::new();
    filter.offset = Some(0);
    filter.limit = Some(PAGE);
    loop {
        let page = state.store.tickets(&filter).await?;
        let full = page.len() == PAGE as usize;
        tickets.extend(page);
        if !full || tickets.len() >= MAX_EXPORT as usize {
            break;
        }
        filter.offset = Some(filter.offset.unwrap_or(0) + PAGE);
    }
    let mut names: HashMap<i64, String> = HashMap::new();
    for id in tickets.iter().filter_map(|t| t.organization_id) {
        if let std::collections::hash_map::Entry::Vacant(name) = names.entry(id) {
            let organization = state.store.find_record::<Organization>(id).await?;
            name.insert(organization.map(|o| o.name).unwrap_or_default());
        }
    }
    let time = |at: Option<Millis>| {
        at.and_then(|at| Utc.timestamp_millis_opt(at).single())
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let rows = tickets.iter().map(|t| {
        vec![
            t.id.to_string(),
            t.subject.clone(),
            t.status.as_str().to_owned(),
            t.priority.to_string(),
            t.starred.to_string(),
            t.kind.as_str().to_owned(),
            t.assignee.clone().unwrap_or_default(),
            t.organization_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            t.caller_number.clone(),
            t.queue.clone().unwrap_or_default(),
            t.line.to_string(),
            t.category.clone(),
            time(Some(t.created_at)),
            time(t.first_response_at),
            time(t.resolved_at),
            (t.first_response_breached || t.resolution_breached).to_string(),
            t.rating.map(|r| r.to_string()).unwrap_or_default(),
            t.low_rating.to_string(),
        ]
    });
    Ok(download::csv(
        "tickets",
        dialect,
        &[
            "id",
            "subject",
            "status",
            "priority",
            "starred",
            "kind",
            "assignee",
            "organization",
            "caller_number",
            "queue",
            "line",
            "category",
            "created_at",
            "first_response_at",
            "resolved_at",
            "sla_breached",
            "rating",
            "low_rating",
        ],
        rows,
    ))
}

/// A caller's number as calls and tickets file it (E.164, or an internal extension), from any
/// form it is written in; a clear refusal for text that is neither.
pub(crate) fn caller_as_filed(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let numbering = state.phonebook.numbering();
    numbering.key(raw).ok_or_else(|| {
        ApiError::bad_request(format!(
            "caller_number: {raw:?} is neither a valid number for {} nor an internal extension",
            numbering.regions_label()
        ))
    })
}

/// A ticket with everything a reviewer needs on one page.
#[derive(Serialize)]
pub(crate) struct TicketView {
    ticket: Shown<Ticket>,
    organization: Option<Organization>,
    contact: Option<Contact>,
    calls: Vec<Shown<CallRecord>>,
    time_entries: Vec<TimeEntry>,
    notes: Vec<Note>,
    /// The faxes received on the ticket's calls; `pdf_file_id` downloads at `/api/files/{id}`.
    faxes: Vec<Shown<FaxRecord>>,
    talk_secs: i64,
    cost_cents: i64,
    /// The names of support lines 1, 2 and 3 (`[tickets] lines`).
    lines: [String; 3],
    /// The categories a ticket can be given, with their keys and names.
    categories: Vec<CategoryName>,
}

#[derive(Serialize)]
struct CategoryName {
    key: String,
    name: String,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Path(id): Path<i64>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = state
        .store
        .ticket(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("ticket {id} not found")))?;
    let calls = state
        .store
        .calls(&CallFilter {
            ticket_id: Some(id),
            limit: Some(1000),
            ..CallFilter::default()
        })
        .await?;
    let time_entries = state.store.time_entries(id).await?;
    let mut faxes = Vec::new();
    for call in calls.iter().filter(|c| c.kind == CallKind::Fax) {
        faxes.extend(state.store.fax_of_call(&call.id).await?);
    }
    let organization = match ticket.organization_id {
        Some(org) => state.store.find_record::<Organization>(org).await?,
        None => None,
    };
    let contact = match ticket.contact_id {
        Some(contact) => state.store.find_record::<Contact>(contact).await?,
        None => None,
    };
    Ok(Json(TicketView {
        talk_secs: time_entries.iter().map(|e| e.seconds).sum(),
        cost_cents: time_entries.iter().map(|e| e.cost_cents).sum(),
        notes: state.store.notes(id).await?,
        ticket: Shown::of(&state, ticket),
        organization,
        contact,
        calls: Shown::all(&state, calls),
        time_entries,
        faxes: Shown::all(&state, faxes),
        lines: state.config.tickets.lines.clone(),
        categories: state
            .config
            .tickets
            .categories
            .iter()
            .map(|c| CategoryName {
                key: c.key.clone(),
                name: c.name.clone(),
            })
            .collect(),
    }))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> Result<Json<Ticket>, ApiError> {
    if patch.starred.is_some() && !auth.role.allows(Role::Manager) {
        return Err(ApiError::forbidden_fields(&["starred"], Role::Manager));
    }
    if patch.low_rating.is_some() && !auth.role.allows(Role::Manager) {
        return Err(ApiError::forbidden_fields(&["low_rating"], Role::Manager));
    }
    if let Some(problem) = patch.problems() {
        return Err(ApiError::bad_request(problem));
    }
    let rules = &state.config.tickets;
    if let Some(category) = patch.category.as_deref() {
        rules
            .known_category(category)
            .map_err(ApiError::bad_request)?;
    }
    let before = state.store.ticket(id).await?;
    // A new category or priority sets the SLA deadlines again, from the ticket's creation.
    let deadlines = before
        .as_ref()
        .filter(|_| patch.category.is_some() || patch.priority.is_some())
        .map(|t| {
            let category = patch.category.as_deref().unwrap_or(&t.category);
            let priority = patch.priority.unwrap_or(t.priority);
            rules.deadlines(t.kind, category, priority, t.created_at)
        });
    // An agent takes a ticket nobody (or they) work, or hands back their own; giving a ticket
    // to somebody else, or taking it from them, is a supervisor's.
    let unless_taken_from = match &patch.assignee {
        Some(to) if !auth.role.allows(Role::Supervisor) => {
            let own = before.as_ref().and_then(|t| t.assignee.as_deref());
            if to.as_deref().is_some_and(|to| to != auth.name)
                || own.is_some_and(|own| own != auth.name)
            {
                return Err(ApiError::forbidden_fields(&["assignee"], Role::Supervisor));
            }
            Some(auth.name.as_str())
        }
        _ => None,
    };
    if let Some(Some(to)) = &patch.assignee {
        if !is_known_person(&state, to).await? {
            return Err(ApiError::bad_request(format!(
                "assignee {to:?} is neither an agent nor a user"
            )));
        }
    }
    let ticket = state
        .store
        .update_ticket(
            id,
            &patch,
            clock::now(),
            state.webhook.is_some(),
            unless_taken_from,
            deadlines,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::conflict(format!(
                "ticket {id} was just taken by somebody else; a supervisor reassigns it"
            )),
            other => other.into(),
        })?;
    let before_status = before.as_ref().map(|t| t.status);
    if patch.status.is_some() && before_status != Some(ticket.status) {
        let change = auth.change("ticket", "status", id);
        let change = change.before(&json!({ "status": before_status }));
        state
            .audit(change.after(&json!({ "status": ticket.status })))
            .await;
    }
    let before_assignee = before.and_then(|t| t.assignee);
    if patch.assignee.is_some() && before_assignee != ticket.assignee {
        let change = auth.change("ticket", "assign", id);
        let change = change.before(&json!({ "assignee": before_assignee }));
        state
            .audit(change.after(&json!({ "assignee": ticket.assignee })))
            .await;
    }
    announce(
        &state,
        TicketEvent::Updated {
            ticket: ticket.clone(),
        },
    );
    Ok(Json(ticket))
}

/// Whether `name` is somebody who can work a ticket: an agent of the queues or a user of the
/// screens.
async fn is_known_person(state: &AppState, name: &str) -> Result<bool, ApiError> {
    if state.store.user_by_name(name).await?.is_some() {
        return Ok(true);
    }
    Ok(state
        .store
        .agents()
        .await?
        .iter()
        .any(|a| a.config.name == name))
}

/// Text for a ticket's history (a note, an escalation's reason), trimmed: 1 to `MAX_NOTE`
/// bytes, else 400 naming `what`.
fn history_text<'a>(what: &str, text: &'a str) -> Result<&'a str, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_NOTE {
        return Err(ApiError::bad_request(format!(
            "{what} is 1 to {MAX_NOTE} bytes"
        )));
    }
    Ok(text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    body: String,
}

pub(crate) async fn add_note(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<i64>,
    ApiJson(note): ApiJson<NoteBody>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let body = history_text("a note", &note.body)?;
    let note = state
        .store
        .add_note(id, &auth.name, body, clock::now())
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalateBody {
    reason: String,
}

/// `POST /api/tickets/{id}/escalate {"reason": "..."}`: moves the ticket one support line up
/// and records the reason in its history. An agent escalates a ticket they work or nobody
/// works; a supervisor or above any ticket. On the top line: 409. Answers the ticket, with
/// `line_callback` when the line reached calls its callers back from a queue of its own
/// ([`line_callback`]).
pub(crate) async fn escalate(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<EscalateBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let reason = history_text("reason", &body.reason)?;
    let before = state
        .store
        .ticket(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("ticket {id} not found")))?;
    if before.line >= TOP_LINE {
        return Err(ApiError::conflict(format!(
            "ticket {id} is on line {TOP_LINE} ({}), the highest: it cannot be escalated further",
            state.config.tickets.lines[usize::from(TOP_LINE) - 1]
        )));
    }
    // An agent escalates what they work or nobody works; somebody else's is a supervisor's.
    let unless_taken_from = (!auth.role.allows(Role::Supervisor)).then_some(auth.name.as_str());
    if let (Some(me), Some(owner)) = (unless_taken_from, before.assignee.as_deref()) {
        if me != owner {
            return Err(ApiError::forbidden(Role::Supervisor));
        }
    }
    let (ticket, _) = state
        .store
        .escalate_ticket(
            id,
            &auth.name,
            reason,
            clock::now(),
            state.webhook.is_some(),
            unless_taken_from,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(why) => {
                ApiError::conflict(format!("{why}: it changed meanwhile, look again"))
            }
            StoreError::NotFound(_) => ApiError::not_found(format!("ticket {id} not found")),
            other => other.into(),
        })?;
    let change = auth.change("ticket", "escalate", id);
    let change = change.before(&json!({ "line": ticket.line - 1 }));
    state
        .audit(change.after(&json!({ "line": ticket.line, "reason": reason })))
        .await;
    announce(
        &state,
        TicketEvent::Updated {
            ticket: ticket.clone(),
        },
    );
    let callback = line_callback(&state, &ticket).await;
    if let Some(placed) = &callback {
        let change = auth.change("ticket", "line_callback", id);
        state.audit(change.after(placed)).await;
    }
    let mut answer = json!(ticket);
    answer["line_callback"] = json!(callback);
    Ok(Json(answer))
}

/// A ticket that reached a support line with a queue of its own (`tickets.line_queues`) has
/// its caller called back from there: a callback waiting for their number moves there
/// keeping its place; an abandoned caller's ticket still open gets one, placed at the
/// ticket's creation. What happened, or why nothing could be (`"outcome": "not_placed"` with
/// the reason: a standby, a number that cannot be dialled, a queue that does not exist);
/// `None` when the line has no queue or nothing waits for the caller.
async fn line_callback(state: &AppState, ticket: &Ticket) -> Option<serde_json::Value> {
    let queue = state.config.tickets.line_queue(ticket.line)?;
    if ticket.caller_number.is_empty() {
        return None;
    }
    let create = ticket.kind == TicketKind::Callback && ticket.status.is_open();
    let placed = state
        .board
        .call_back_from(queue, &ticket.caller_number, ticket.created_at, create)
        .await;
    match placed {
        Ok(placed) => placed.map(|placed| json!(placed)),
        Err(e) => {
            tracing::warn!(
                ticket = ticket.id,
                queue,
                "caller not called back from the line's queue: {e}"
            );
            Some(json!({"outcome": "not_placed", "queue": queue, "reason": e.to_string()}))
        }
    }
}

/// A ticket opened by hand (from the agent's pop-up, say).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenTicket {
    subject: String,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    starred: bool,
    #[serde(default)]
    organization_id: Option<i64>,
    #[serde(default)]
    contact_id: Option<i64>,
    #[serde(default)]
    caller_number: String,
    #[serde(default)]
    note: Option<String>,
    /// A key of `[tickets] categories`; the default category when absent.
    #[serde(default)]
    category: Option<String>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    ApiJson(open): ApiJson<OpenTicket>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    if open.starred && !auth.role.allows(Role::Manager) {
        return Err(ApiError::forbidden_fields(&["starred"], Role::Manager));
    }
    let patch = TicketPatch {
        priority: open.priority,
        subject: Some(open.subject.clone()),
        ..TicketPatch::default()
    };
    if let Some(problem) = patch.problems() {
        return Err(ApiError::bad_request(problem));
    }
    let mut organization_id = open.organization_id;
    if let Some(contact) = open.contact_id {
        let contact = state
            .store
            .find_record::<Contact>(contact)
            .await?
            .ok_or_else(|| ApiError::bad_request(format!("contact {contact} does not exist")))?;
        organization_id = organization_id.or(contact.organization_id);
    }
    let caller_number = match open.caller_number.trim() {
        "" => String::new(),
        raw => state
            .phonebook
            .numbering()
            .normalize(raw)
            .unwrap_or_else(|_| raw.to_owned()),
    };
    let rules = &state.config.tickets;
    let category = open
        .category
        .clone()
        .unwrap_or_else(|| rules.default_category.clone());
    rules
        .known_category(&category)
        .map_err(ApiError::bad_request)?;
    let now = clock::now();
    let priority = open.priority.unwrap_or(PRIORITY_NORMAL);
    let (first_response_due, resolution_due) =
        rules.deadlines(TicketKind::Manual, &category, priority, now);
    let new = NewTicket {
        subject: open.subject.trim().to_owned(),
        category,
        status: Status::Open,
        priority,
        starred: open.starred,
        kind: TicketKind::Manual,
        organization_id,
        contact_id: open.contact_id,
        unidentified: organization_id.is_none() && open.contact_id.is_none(),
        caller_number,
        queue: None,
        // Whoever opens a ticket by hand works it until somebody reassigns it.
        assignee: Some(auth.name.clone()),
        created_at: now,
        last_call_at: None,
        // Whoever opens a ticket by hand has responded.
        first_response_at: Some(now),
        first_response_due: Some(first_response_due),
        resolution_due: Some(resolution_due),
    };
    let ticket = state
        .store
        .open_ticket(&new, state.webhook.is_some())
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Database(ref db) if is_foreign_key(db) => {
                ApiError::bad_request("organization or contact does not exist")
            }
            other => other.into(),
        })?;
    if let Some(note) = open
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        state
            .store
            .add_note(ticket.id, &auth.name, note, now)
            .await?;
    }
    announce(
        &state,
        TicketEvent::Created {
            ticket: ticket.clone(),
        },
    );
    Ok((StatusCode::CREATED, Json(ticket)))
}

fn is_foreign_key(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

fn announce(state: &AppState, event: TicketEvent) {
    if let Some(webhook) = &state.webhook {
        webhook.notify_one();
    }
    let _ = state.ticket_events.send(event);
}
