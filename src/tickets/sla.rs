//! SLA clocks: every ticket carries a first-response and a resolution deadline from its
//! priority. A watcher marks each clock that runs out, once, and announces the escalation to
//! the dashboard (and the helpdesk webhook).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

use super::model::TicketEvent;
use crate::clock::{self, Millis};
use crate::store::{Store, StoreError};

/// Marks the clocks that ran out by `now`; returns how many escalated.
pub async fn escalate_due(
    store: &Store,
    events: &broadcast::Sender<TicketEvent>,
    webhook: Option<&Notify>,
    now: Millis,
) -> Result<usize, StoreError> {
    let breached = store.mark_breaches(now, webhook.is_some()).await?;
    for (ticket, clock) in &breached {
        tracing::warn!(
            ticket = ticket.id,
            clock = *clock,
            priority = ticket.priority,
            "ticket SLA breached"
        );
        let _ = events.send(TicketEvent::Escalated {
            ticket: ticket.clone(),
            clock: (*clock).to_owned(),
        });
    }
    if !breached.is_empty() {
        if let Some(webhook) = webhook {
            webhook.notify_one();
        }
    }
    Ok(breached.len())
}

/// Checks the clocks every `every` until the process ends.
pub async fn watch(
    store: Store,
    events: broadcast::Sender<TicketEvent>,
    webhook: Option<Arc<Notify>>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = clock::now();
        if let Err(e) = escalate_due(&store, &events, webhook.as_deref(), now).await {
            tracing::warn!("SLA check failed: {e}");
        }
    }
}
