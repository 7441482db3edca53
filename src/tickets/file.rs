//! Files a call into the tickets, inside the transaction its CDR is stored in: the rules'
//! plan carried out once per call, the caller's rating put on the ticket once, and every
//! answered agent leg's time booked once on the call's ticket — however many times and in
//! whatever order the legs arrive.

use super::model::{Ticket, TicketEvent, TimeEntry};
use super::rules::{caller_key, joins_incident, plan, rated, threads, Plan, TicketRules};
use crate::cdr::{CallKind, CallRecord, Leg};
use crate::clock::Millis;
use crate::store::{CallTx, StoreError};

/// Stores `call` (built from `legs`), files it under a ticket if the rules say so, and books
/// agent time. Returns the ticket changes, which are also queued for the helpdesk when
/// `webhook` is set.
pub async fn file_call(
    tx: &mut CallTx,
    call: &mut CallRecord,
    legs: &[Leg],
    rules: &TicketRules,
    webhook: bool,
    now: Millis,
) -> Result<Vec<TicketEvent>, StoreError> {
    let mut events = Vec::new();
    call.ticket_id = tx.ticket_of_call(&call.id).await?;
    if call.ticket_id.is_none() {
        // While the caller's organization has an incident open, the call joins its ticket.
        let incident = match call.organization_id.filter(|_| joins_incident(call)) {
            Some(organization) => {
                tx.organization_incident_ticket(organization, call.started_at)
                    .await?
            }
            None => None,
        };
        let open = match caller_key(call).filter(|_| threads(call) && incident.is_none()) {
            Some(key) => {
                // A callback belongs to the ticket that asked for it, however old.
                let since = (call.kind != CallKind::Callback)
                    .then(|| call.started_at - rules.repeat_window_ms());
                tx.callers_open_ticket(&key, since).await?
            }
            None => None,
        };
        let open = incident.or(open);
        let ticket: Option<Ticket> = match plan(call, open.as_ref(), rules) {
            Plan::Nothing => None,
            Plan::Create(new) => {
                let ticket = tx.create_ticket(&new).await?;
                events.push(TicketEvent::Created {
                    ticket: ticket.clone(),
                });
                Some(ticket)
            }
            Plan::Append(append) => {
                let ticket = tx.append_to_ticket(&append, now).await?;
                events.push(TicketEvent::Updated {
                    ticket: ticket.clone(),
                });
                Some(ticket)
            }
        };
        call.ticket_id = ticket.map(|t| t.id);
    }
    let stored_rating = tx.rating_of_call(&call.id).await?;
    tx.save_call(call, now).await?;
    // The caller's rating from the survey: on the ticket, flagged for a manager when low.
    if let Some(r) = rated(call, stored_rating, rules) {
        let ticket = tx.rate_ticket(r.ticket_id, r.rating, r.low, now).await?;
        events.push(if r.low {
            TicketEvent::LowRating {
                ticket,
                rating: r.rating,
            }
        } else {
            TicketEvent::Updated { ticket }
        });
    }
    if let Some(ticket_id) = call.ticket_id {
        for leg in legs.iter().filter(|l| l.is_answered_agent_leg()) {
            let agent = leg.agent.clone().unwrap_or_else(|| "unknown".to_owned());
            let rate = tx
                .agent_rate(&agent)
                .await?
                .unwrap_or(rules.default_hourly_rate_cents);
            let seconds = leg.talk_secs();
            tx.book_time(&TimeEntry {
                id: 0,
                ticket_id,
                call_id: Some(call.id.clone()),
                leg_uuid: Some(leg.uuid.clone()),
                agent,
                queue: leg.queue.clone().or_else(|| call.queue.clone()),
                seconds,
                hourly_rate_cents: rate,
                cost_cents: TimeEntry::cost(seconds, rate),
                at: leg.ended_ms,
            })
            .await?;
        }
    }
    if webhook {
        for event in &events {
            tx.enqueue_webhook(event, now).await?;
        }
    }
    Ok(events)
}
