//! Tickets over HTTP: the list with the manager's filters, one ticket with its calls, time
//! and notes, edits, notes, and tickets opened by hand. Agents work tickets; only managers
//! star one ("company-wide / management").

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ApiJson;
use super::roles::{Agent, Authorized};
use super::{ApiError, AppState};
use crate::cdr::{CallKind, CallRecord};
use crate::clock;
use crate::directory::model::{Contact, Organization};
use crate::store::{CallFilter, FaxRecord, TicketFilter};
use crate::tickets::{
    NewTicket, Note, Status, Ticket, TicketEvent, TicketKind, TicketPatch, TimeEntry,
    PRIORITY_NORMAL,
};
use crate::users::Role;

const MAX_NOTE: usize = 20_000;

pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(mut filter): Query<TicketFilter>,
) -> Result<Json<Vec<Ticket>>, ApiError> {
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
    Ok(Json(state.store.tickets(&filter).await?))
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
    ticket: Ticket,
    organization: Option<Organization>,
    contact: Option<Contact>,
    calls: Vec<CallRecord>,
    time_entries: Vec<TimeEntry>,
    notes: Vec<Note>,
    /// The faxes received on the ticket's calls; `pdf_file_id` downloads at `/api/files/{id}`.
    faxes: Vec<FaxRecord>,
    talk_secs: i64,
    cost_cents: i64,
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
        ticket,
        organization,
        contact,
        calls,
        time_entries,
        faxes,
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
    if let Some(problem) = patch.problems() {
        return Err(ApiError::bad_request(problem));
    }
    let before = state.store.ticket(id).await?.map(|t| t.status);
    let ticket = state
        .store
        .update_ticket(id, &patch, clock::now(), state.webhook.is_some())
        .await?;
    if patch.status.is_some() && before != Some(ticket.status) {
        let change = auth.change("ticket", "status", id);
        let change = change.before(&json!({ "status": before }));
        state
            .audit(change.after(&json!({ "status": ticket.status })))
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
    let body = note.body.trim();
    if body.is_empty() || body.len() > MAX_NOTE {
        return Err(ApiError::bad_request(format!(
            "a note is 1 to {MAX_NOTE} bytes"
        )));
    }
    let note = state
        .store
        .add_note(id, &auth.name, body, clock::now())
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
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
    let now = clock::now();
    let priority = open.priority.unwrap_or(PRIORITY_NORMAL);
    let (first_response_due, resolution_due) = state.config.tickets.deadlines(priority, now);
    let new = NewTicket {
        subject: open.subject.trim().to_owned(),
        status: Status::Open,
        priority,
        starred: open.starred,
        kind: TicketKind::Manual,
        organization_id,
        contact_id: open.contact_id,
        unidentified: organization_id.is_none() && open.contact_id.is_none(),
        caller_number,
        queue: None,
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
