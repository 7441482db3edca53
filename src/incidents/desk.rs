//! [`Incidents`]: the one place incidents change. Alarms come in through [`Incidents::receive`]
//! (the API's `POST /api/alarms`), people act through [`Incidents::take`] and
//! [`Incidents::resolve`] (the API and a chat bot alike), and the leader's timer worker
//! through [`Incidents::escalate_due`]. Each change is one transaction (the incident, its
//! steps and its ticket), told afterwards as an [`IncidentEvent`] to every subscriber, as a
//! `TicketEvent` to the dashboard, and to the switchboard's notice (the organizations with
//! an incident not resolved).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, Mutex, Notify};

use super::alarm::{Alarm, AlarmState};
use super::config::IncidentConfig;
use super::model::{
    Incident, IncidentEvent, IncidentEventKind, IncidentStatus, StepKind, BY_MONITORING, BY_TIMER,
};
use super::rules::{self, Latest, OnDue, OnProblem};
use crate::clock::{self, Millis};
use crate::store::{NewIncident, RanOut, Store, StoreError};
use crate::switch::Board;
use crate::tickets::{NewTicket, Status, TicketEvent, TicketKind, TicketRules, PRIORITY_HIGH};

/// Incident events buffered for each subscriber.
const EVENT_BUFFER: usize = 256;

/// What one alarm did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Received {
    /// The incident it opened, updated or resolved; None for a recovery of nothing open.
    pub incident: Option<i64>,
    /// `opened`, `updated`, `reopened`, `duplicate`, `resolved` or `nothing_open`.
    pub outcome: &'static str,
}

/// Why a person's action on an incident was refused.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("incident {0} not found")]
    NotFound(i64),
    /// Taken by somebody else, or resolved: the text says which.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The handle every user of incidents holds; cheap to clone.
#[derive(Clone)]
pub struct Incidents {
    store: Store,
    config: IncidentConfig,
    rules: Arc<TicketRules>,
    events: broadcast::Sender<IncidentEvent>,
    tickets: broadcast::Sender<TicketEvent>,
    webhook: Option<Arc<Notify>>,
    /// Alarms and actions one at a time in this process: two deliveries of one problem never
    /// both open an incident (across instances, `incident_alarms`' key refuses the second).
    lock: Arc<Mutex<()>>,
    /// The switchboard whose callers hear the notice, when `[incidents] notice` is on.
    board: Option<Board>,
}

impl Incidents {
    pub fn new(
        store: Store,
        config: IncidentConfig,
        rules: TicketRules,
        tickets: broadcast::Sender<TicketEvent>,
        webhook: Option<Arc<Notify>>,
        board: Option<Board>,
    ) -> Incidents {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let board = board.filter(|_| config.notice);
        Incidents {
            store,
            config,
            rules: Arc::new(rules),
            events,
            tickets,
            webhook,
            lock: Arc::new(Mutex::new(())),
            board,
        }
    }

    /// Every change from now on, after it committed (a chat notifier's feed).
    pub fn subscribe(&self) -> broadcast::Receiver<IncidentEvent> {
        self.events.subscribe()
    }

    pub fn config(&self) -> &IncidentConfig {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Applies each alarm in turn, at `now`.
    pub async fn receive(
        &self,
        alarms: &[Alarm],
        now: Millis,
    ) -> Result<Vec<Received>, StoreError> {
        let mut done = Vec::with_capacity(alarms.len());
        for alarm in alarms {
            let received = match self.receive_one(alarm, now).await {
                // Another instance folded the same event a moment before: it is a duplicate.
                Err(StoreError::Conflict(_)) => self.receive_one(alarm, now).await?,
                other => other?,
            };
            done.push(received);
        }
        Ok(done)
    }

    async fn receive_one(&self, alarm: &Alarm, now: Millis) -> Result<Received, StoreError> {
        let _one = self.lock.lock().await;
        let mut tx = self.store.begin_incident().await?;
        let known = tx.incident_of_event(&alarm.event_key).await?;
        let latest = tx.latest_incident_of(&alarm.condition_key).await?;
        let webhook = self.webhook.is_some();
        let mut tickets = Vec::new();
        let (received, event) = match alarm.state {
            AlarmState::Recovery => {
                let id = rules::on_recovery(
                    known.as_ref().map(latest_of).as_ref(),
                    latest.as_ref().map(latest_of).as_ref(),
                );
                let resolved = match id {
                    Some(id) => tx.resolve_incident(id, BY_MONITORING, now).await?,
                    None => None,
                };
                match resolved {
                    Some((incident, ticket)) => {
                        tickets.push(TicketEvent::Updated { ticket });
                        let event = IncidentEvent::new(
                            IncidentEventKind::Resolved,
                            &incident,
                            BY_MONITORING,
                            now,
                        );
                        (received(Some(incident.id), "resolved"), Some(event))
                    }
                    None => (received(None, "nothing_open"), None),
                }
            }
            AlarmState::Problem => {
                let latest_rule = latest.as_ref().map(latest_of);
                let plan =
                    rules::on_problem(known.map(|i| i.id), latest_rule.as_ref(), now, &self.config);
                match plan {
                    OnProblem::Duplicate(id) => (received(Some(id), "duplicate"), None),
                    OnProblem::Fold(id) | OnProblem::Reopen(id) => {
                        let reopen = matches!(plan, OnProblem::Reopen(_));
                        tx.fold_event(id, &alarm.event_key, now).await?;
                        let due = reopen.then(|| now.saturating_add(self.config.take_within()));
                        let (incident, ticket) = tx.incident_occurred(id, now, due).await?;
                        let step = if reopen {
                            StepKind::Reopened
                        } else {
                            StepKind::Updated
                        };
                        tx.add_incident_step(id, step, BY_MONITORING, incident.line, now)
                            .await?;
                        if let Some(ticket) = ticket {
                            tickets.push(TicketEvent::Updated { ticket });
                        }
                        let event = IncidentEvent::new(
                            IncidentEventKind::Updated,
                            &incident,
                            BY_MONITORING,
                            now,
                        );
                        let outcome = if reopen { "reopened" } else { "updated" };
                        (received(Some(id), outcome), Some(event))
                    }
                    OnProblem::Open => {
                        let asset = tx.host_asset(&alarm.host, &alarm.address).await?;
                        let host = if alarm.host.is_empty() {
                            &alarm.address
                        } else {
                            &alarm.host
                        };
                        let category = self.config.category.clone();
                        let (first_response_due, resolution_due) = self.rules.deadlines(
                            TicketKind::Incident,
                            &category,
                            PRIORITY_HIGH,
                            now,
                        );
                        let ticket = tx
                            .create_ticket(&NewTicket {
                                subject: self.rules.language.incident_subject(&alarm.title, host),
                                category,
                                status: Status::New,
                                priority: PRIORITY_HIGH,
                                starred: false,
                                kind: TicketKind::Incident,
                                organization_id: asset.and_then(|a| a.organization_id),
                                contact_id: None,
                                caller_number: String::new(),
                                unidentified: asset.is_none(),
                                queue: None,
                                assignee: None,
                                created_at: now,
                                last_call_at: None,
                                first_response_at: None,
                                first_response_due: Some(first_response_due),
                                resolution_due: Some(resolution_due),
                            })
                            .await?;
                        let incident = tx
                            .insert_incident(&NewIncident {
                                source: alarm.source.as_str(),
                                condition_key: &alarm.condition_key,
                                event_key: &alarm.event_key,
                                title: &alarm.title,
                                host: &alarm.host,
                                address: &alarm.address,
                                severity: &alarm.severity,
                                asset,
                                ticket_id: ticket.id,
                                opened_at: now,
                                due_at: now.saturating_add(self.config.take_within()),
                            })
                            .await?;
                        tickets.push(TicketEvent::Created { ticket });
                        let event = IncidentEvent::new(
                            IncidentEventKind::Opened,
                            &incident,
                            BY_MONITORING,
                            now,
                        );
                        (received(Some(incident.id), "opened"), Some(event))
                    }
                }
            }
        };
        if webhook {
            for ticket in &tickets {
                tx.enqueue_webhook(ticket, now).await?;
            }
        }
        tx.commit().await?;
        self.told(event, tickets).await;
        Ok(received)
    }

    /// `by` claims incident `number`; its resolve timer starts. Now.
    pub async fn take(&self, number: i64, by: &str) -> Result<Incident, IncidentError> {
        self.take_at(number, by, clock::now()).await
    }

    /// [`Incidents::take`] at `now`.
    pub async fn take_at(
        &self,
        number: i64,
        by: &str,
        now: Millis,
    ) -> Result<Incident, IncidentError> {
        let _one = self.lock.lock().await;
        let mut tx = self.store.begin_incident().await?;
        let due = now.saturating_add(self.config.resolve_within());
        let Some((incident, ticket)) = tx.take_incident(number, by, now, due).await? else {
            return Err(refusal(&mut tx, number).await);
        };
        let tickets = vec![TicketEvent::Updated { ticket }];
        self.finish(tx, &tickets, now).await?;
        let event = IncidentEvent::new(IncidentEventKind::Taken, &incident, by, now);
        self.told(Some(event), tickets).await;
        Ok(incident)
    }

    /// `by` resolves incident `number` (and its ticket). Now.
    pub async fn resolve(&self, number: i64, by: &str) -> Result<Incident, IncidentError> {
        self.resolve_at(number, by, clock::now()).await
    }

    /// [`Incidents::resolve`] at `now`.
    pub async fn resolve_at(
        &self,
        number: i64,
        by: &str,
        now: Millis,
    ) -> Result<Incident, IncidentError> {
        let _one = self.lock.lock().await;
        let mut tx = self.store.begin_incident().await?;
        let Some((incident, ticket)) = tx.resolve_incident(number, by, now).await? else {
            return Err(refusal(&mut tx, number).await);
        };
        let tickets = vec![TicketEvent::Updated { ticket }];
        self.finish(tx, &tickets, now).await?;
        let event = IncidentEvent::new(IncidentEventKind::Resolved, &incident, by, now);
        self.told(Some(event), tickets).await;
        Ok(incident)
    }

    /// Every timer that ran out by `now`: one line up and again, or overdue on the top line.
    /// Returns how many incidents changed.
    pub async fn escalate_due(&self, now: Millis) -> Result<usize, StoreError> {
        let mut changed = 0;
        for due in self.store.due_incidents(now).await? {
            let Some(due_was) = due.due_at else { continue };
            let _one = self.lock.lock().await;
            let taken = due.status == IncidentStatus::Taken;
            let up = match rules::on_due(due.status, due.line, now, &self.config) {
                OnDue::Escalate { line, due_at } => Some((line, due_at)),
                OnDue::Overdue => None,
            };
            let within = if taken {
                self.config.resolve_within_secs
            } else {
                self.config.take_within_secs
            };
            let reason = self
                .rules
                .language
                .incident_escalation(due.id, taken, within / 60);
            let mut tx = self.store.begin_incident().await?;
            let ran_out = tx
                .incident_timer_ran_out(&RanOut {
                    id: due.id,
                    due_was,
                    up,
                    reason: &reason,
                    by: BY_TIMER,
                    now,
                    webhook: self.webhook.is_some(),
                })
                .await?;
            let Some((incident, escalated)) = ran_out else {
                continue;
            };
            tx.commit().await?;
            if escalated.is_some() {
                if let Some(webhook) = &self.webhook {
                    webhook.notify_one();
                }
            }
            tracing::warn!(
                incident = incident.id,
                line = incident.line,
                taken,
                "incident timer ran out"
            );
            let tickets = escalated
                .map(|(ticket, _)| TicketEvent::Updated { ticket })
                .into_iter()
                .collect();
            let event = IncidentEvent::new(IncidentEventKind::Escalated, &incident, BY_TIMER, now);
            drop(_one);
            self.told(Some(event), tickets).await;
            changed += 1;
        }
        Ok(changed)
    }

    /// The leader's timer worker: checks every `[incidents] check_secs` until dropped, and
    /// hands its switchboard the organizations with an incident open each time (an alarm
    /// or a person's action may have reached another instance).
    pub async fn watch(self) {
        let every = Duration::from_secs(self.config.check_secs.max(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.escalate_due(clock::now()).await {
                tracing::warn!("incident timers: {e}");
            }
            if let Err(e) = self.refresh_notice().await {
                tracing::warn!("the queue's incident notice is not updated: {e}");
            }
        }
    }

    /// Tells the switchboard which organizations have an incident (for the queue's notice).
    pub async fn refresh_notice(&self) -> Result<(), StoreError> {
        let Some(board) = &self.board else {
            return Ok(());
        };
        let organizations = self.store.organizations_with_incidents().await?;
        board.set_incident_organizations(organizations.into_iter().collect());
        Ok(())
    }

    async fn finish(
        &self,
        mut tx: crate::store::CallTx,
        tickets: &[TicketEvent],
        now: Millis,
    ) -> Result<(), StoreError> {
        if self.webhook.is_some() {
            for ticket in tickets {
                tx.enqueue_webhook(ticket, now).await?;
            }
        }
        tx.commit().await
    }

    async fn told(&self, event: Option<IncidentEvent>, tickets: Vec<TicketEvent>) {
        if !tickets.is_empty() {
            if let Some(webhook) = &self.webhook {
                webhook.notify_one();
            }
        }
        for ticket in tickets {
            let _ = self.tickets.send(ticket);
        }
        let Some(event) = event else { return };
        let notice_changes = matches!(
            event.kind,
            IncidentEventKind::Opened | IncidentEventKind::Updated | IncidentEventKind::Resolved
        );
        let _ = self.events.send(event);
        if notice_changes {
            if let Err(e) = self.refresh_notice().await {
                tracing::warn!("the queue's incident notice is not updated: {e}");
            }
        }
    }
}

fn received(incident: Option<i64>, outcome: &'static str) -> Received {
    Received { incident, outcome }
}

fn latest_of(incident: &Incident) -> Latest {
    Latest {
        id: incident.id,
        status: incident.status,
        resolved_at: incident.resolved_at,
        resolved_by: incident.resolved_by.clone(),
    }
}

/// Why an incident could not be taken or resolved: there is none, or what it is now.
async fn refusal(tx: &mut crate::store::CallTx, number: i64) -> IncidentError {
    match tx.incident(number).await {
        Ok(None) => IncidentError::NotFound(number),
        Ok(Some(incident)) => IncidentError::Conflict(match incident.status {
            IncidentStatus::Resolved => format!(
                "incident {number} was resolved by {}",
                incident.resolved_by.unwrap_or_default()
            ),
            _ => format!(
                "incident {number} was taken by {}",
                incident.taken_by.unwrap_or_default()
            ),
        }),
        Err(e) => IncidentError::Store(e),
    }
}
