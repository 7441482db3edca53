//! Incidents in the chat room ([`crate::chat`]): the room's `!take N` and `!resolve N` carried
//! out by the same [`Incidents::take`] / [`Incidents::resolve`] the API calls, under the same
//! rule of who may resolve ([`rules::may_resolve`]); and each change told to the room as an
//! [`IncidentNotice`] ([`notice`], pure), by [`tell_room`].

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::config::IncidentConfig;
use super::desk::{IncidentError, Incidents};
use super::model::{Incident, IncidentEvent, IncidentEventKind, IncidentStatus, BY_MONITORING};
use super::rules;
use crate::chat::{self, ChatCommand, IncidentNotice, Notifier, Refusal, Timer};

impl chat::CommandHandler for Incidents {
    async fn handle(&self, command: ChatCommand) -> Result<(), Refusal> {
        let (number, by) = (command.incident(), command.by().to_owned());
        match command {
            ChatCommand::Take { .. } => match self.take(number, &by).await {
                Ok(_) => Ok(()),
                Err(error) => self.refusal(number, &by, error).await,
            },
            ChatCommand::Resolve { .. } => {
                let role = match self.store().user_by_name(&by).await {
                    Ok(Some(user)) if !user.disabled => user.role,
                    Ok(_) => return Err(Refusal::NotPermitted),
                    Err(_) => return Err(Refusal::Unavailable),
                };
                match self.store().incident(number).await {
                    Ok(Some(incident)) if !rules::may_resolve(&incident, &by, role) => {
                        return Err(Refusal::NotPermitted)
                    }
                    Ok(_) => {}
                    Err(_) => return Err(Refusal::Unavailable),
                }
                match self.resolve(number, &by).await {
                    Ok(_) => Ok(()),
                    Err(error) => self.refusal(number, &by, error).await,
                }
            }
        }
    }
}

impl Incidents {
    /// What the room is answered when taking or resolving failed. Doing again what `by`
    /// already did (a command read twice after a restart) is no failure.
    async fn refusal(&self, number: i64, by: &str, error: IncidentError) -> Result<(), Refusal> {
        match error {
            IncidentError::NotFound(_) => Err(Refusal::UnknownIncident),
            IncidentError::Store(_) => Err(Refusal::Unavailable),
            IncidentError::Conflict(_) => match self.store().incident(number).await {
                Ok(Some(incident)) => already(&incident, by),
                Ok(None) => Err(Refusal::UnknownIncident),
                Err(_) => Err(Refusal::Unavailable),
            },
        }
    }
}

fn already(incident: &Incident, by: &str) -> Result<(), Refusal> {
    match incident.status {
        IncidentStatus::Resolved if incident.resolved_by.as_deref() == Some(by) => Ok(()),
        IncidentStatus::Resolved => Err(Refusal::AlreadyResolved),
        _ if incident.taken_by.as_deref() == Some(by) => Ok(()),
        _ => Err(Refusal::AlreadyTaken {
            by: incident.taken_by.clone().unwrap_or_default(),
        }),
    }
}

/// What the room is told of `event`; None for what it is not told (another occurrence
/// folded in).
pub fn notice(event: &IncidentEvent, config: &IncidentConfig) -> Option<IncidentNotice> {
    let take_within = Duration::from_secs(config.take_within_secs);
    let resolve_within = Duration::from_secs(config.resolve_within_secs);
    let incident = &event.incident;
    let told = match event.kind {
        IncidentEventKind::Updated => return None,
        IncidentEventKind::Opened => chat::IncidentEvent::Opened {
            severity: incident.severity.clone(),
            take_within,
        },
        IncidentEventKind::Taken => chat::IncidentEvent::Taken {
            by: event.who.clone(),
            resolve_within: Some(resolve_within),
        },
        IncidentEventKind::Escalated => {
            let untaken = incident.status == IncidentStatus::Open;
            chat::IncidentEvent::Escalated {
                line: event.line,
                ran_out: if untaken { Timer::Take } else { Timer::Resolve },
                after: if untaken { take_within } else { resolve_within },
                take_within: (untaken && incident.due_at.is_some()).then_some(take_within),
            }
        }
        IncidentEventKind::Resolved => chat::IncidentEvent::Resolved {
            by: (event.who != BY_MONITORING).then(|| event.who.clone()),
        },
    };
    Some(IncidentNotice {
        incident: event.number,
        organization: event.organization.clone(),
        title: event.title.clone(),
        event: told,
    })
}

/// Tells the room of every change from now on, until dropped (the supervised `incident-chat`
/// task, beside the `matrix` one when `[matrix]` is configured).
pub async fn tell_room(incidents: Incidents, notifier: Notifier) {
    let mut events = incidents.subscribe();
    loop {
        match events.recv().await {
            Ok(event) => {
                if let Some(notice) = notice(&event, incidents.config()) {
                    notifier.notify(&notice);
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "incident notices for the room were missed");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::IncidentEvent;

    fn event(kind: IncidentEventKind, status: IncidentStatus, who: &str) -> IncidentEvent {
        let incident = Incident {
            id: 7,
            source: "zabbix".into(),
            title: "Disk full".into(),
            host: "db1".into(),
            address: String::new(),
            severity: "High".into(),
            organization_id: Some(1),
            organization: Some("Acme".into()),
            asset_id: None,
            ticket_id: 3,
            status,
            line: 2,
            occurrences: 1,
            opened_at: 0,
            taken_at: None,
            taken_by: None,
            resolved_at: None,
            resolved_by: None,
            due_at: Some(1),
            updated_at: 0,
            steps: Vec::new(),
        };
        IncidentEvent::new(kind, &incident, who, 0)
    }

    #[test]
    fn the_room_hears_of_openings_takes_escalations_and_resolutions() {
        let config = IncidentConfig::default();
        let opened = notice(
            &event(
                IncidentEventKind::Opened,
                IncidentStatus::Open,
                "monitoring",
            ),
            &config,
        )
        .unwrap();
        assert_eq!(
            (opened.incident, opened.organization.as_deref()),
            (7, Some("Acme"))
        );
        assert_eq!(
            opened.event,
            chat::IncidentEvent::Opened {
                severity: "High".into(),
                take_within: Duration::from_secs(900)
            }
        );
        let escalated = notice(
            &event(
                IncidentEventKind::Escalated,
                IncidentStatus::Taken,
                "switchdesk",
            ),
            &config,
        )
        .unwrap();
        assert_eq!(
            escalated.event,
            chat::IncidentEvent::Escalated {
                line: 2,
                ran_out: Timer::Resolve,
                after: Duration::from_secs(4 * 3600),
                take_within: None
            }
        );
        let recovered = notice(
            &event(
                IncidentEventKind::Resolved,
                IncidentStatus::Resolved,
                "monitoring",
            ),
            &config,
        )
        .unwrap();
        assert_eq!(recovered.event, chat::IncidentEvent::Resolved { by: None });
        assert!(notice(
            &event(
                IncidentEventKind::Updated,
                IncidentStatus::Open,
                "monitoring"
            ),
            &config
        )
        .is_none());
    }

    #[test]
    fn doing_again_what_one_did_is_no_refusal() {
        let mut incident = event(IncidentEventKind::Taken, IncidentStatus::Taken, "anna").incident;
        incident.taken_by = Some("anna".into());
        assert_eq!(already(&incident, "anna"), Ok(()));
        assert_eq!(
            already(&incident, "bob"),
            Err(Refusal::AlreadyTaken { by: "anna".into() })
        );
        incident.status = IncidentStatus::Resolved;
        incident.resolved_by = Some("anna".into());
        assert_eq!(already(&incident, "anna"), Ok(()));
        assert_eq!(already(&incident, "bob"), Err(Refusal::AlreadyResolved));
    }
}
