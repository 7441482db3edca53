//! The rules of incidents, pure: what an alarm does to the incidents, and what a timer that
//! ran out does to one.
//!
//! - a problem event already folded (the same Zabbix event id, the same Alertmanager
//!   fingerprint and start) changes nothing;
//! - a problem of a condition with an open (or taken) incident folds into it (one more
//!   occurrence);
//! - a problem of a condition whose incident a recovery resolved within the flap window
//!   reopens it (one more occurrence; the take timer starts again);
//! - any other problem opens an incident;
//! - a recovery resolves the condition's open incident (by `monitoring`);
//! - a timer that ran out moves the incident one line up and starts again; on the top line
//!   it is marked overdue and stops.

use super::config::IncidentConfig;
use super::model::{Incident, IncidentStatus, BY_MONITORING};
use crate::accounts::Role;
use crate::clock::Millis;
use crate::tickets::TOP_LINE;

/// The latest incident of an alarm's condition, as far as the rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    pub id: i64,
    pub status: IncidentStatus,
    pub resolved_at: Option<Millis>,
    pub resolved_by: Option<String>,
}

/// What a problem event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnProblem {
    /// Already folded into this incident: nothing changes.
    Duplicate(i64),
    /// Folded into this open incident.
    Fold(i64),
    /// Reopens this incident (flapping).
    Reopen(i64),
    Open,
}

/// `known`: the incident the event was folded into before, if any; `latest`: the condition's
/// latest incident.
pub fn on_problem(
    known: Option<i64>,
    latest: Option<&Latest>,
    now: Millis,
    config: &IncidentConfig,
) -> OnProblem {
    if let Some(id) = known {
        return OnProblem::Duplicate(id);
    }
    match latest {
        Some(latest) if latest.status != IncidentStatus::Resolved => OnProblem::Fold(latest.id),
        Some(Latest {
            id,
            resolved_at: Some(at),
            resolved_by: Some(by),
            ..
        }) if by == BY_MONITORING && now.saturating_sub(*at) <= config.flap_window() => {
            OnProblem::Reopen(*id)
        }
        _ => OnProblem::Open,
    }
}

/// The incident a recovery resolves: the one its problem was folded into, else the
/// condition's latest, when either is still open.
pub fn on_recovery(known: Option<&Latest>, latest: Option<&Latest>) -> Option<i64> {
    known
        .or(latest)
        .filter(|i| i.status != IncidentStatus::Resolved)
        .map(|i| i.id)
}

/// Whether `by`, of `role`, may resolve `incident`: one nobody took or their own, or any as a
/// supervisor+ (the API and the chat room alike).
pub fn may_resolve(incident: &Incident, by: &str, role: Role) -> bool {
    role.allows(Role::Supervisor)
        || incident.status != IncidentStatus::Taken
        || incident.taken_by.as_deref() == Some(by)
}

/// What a timer that ran out does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDue {
    /// One line up, to `line`, with the same timer running again until `due_at`.
    Escalate { line: u8, due_at: Millis },
    /// On the top line already: marked, and no timer runs any more.
    Overdue,
}

pub fn on_due(status: IncidentStatus, line: u8, now: Millis, config: &IncidentConfig) -> OnDue {
    if line >= TOP_LINE {
        return OnDue::Overdue;
    }
    let again = match status {
        IncidentStatus::Taken => config.resolve_within(),
        _ => config.take_within(),
    };
    OnDue::Escalate {
        line: line + 1,
        due_at: now.saturating_add(again),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(by: &str, at: Millis) -> Latest {
        Latest {
            id: 7,
            status: IncidentStatus::Resolved,
            resolved_at: Some(at),
            resolved_by: Some(by.into()),
        }
    }

    #[test]
    fn problems_fold_flap_or_open() {
        let config = IncidentConfig::default();
        let open = Latest {
            id: 3,
            status: IncidentStatus::Taken,
            resolved_at: None,
            resolved_by: None,
        };
        assert_eq!(
            on_problem(Some(3), Some(&open), 0, &config),
            OnProblem::Duplicate(3)
        );
        assert_eq!(
            on_problem(None, Some(&open), 0, &config),
            OnProblem::Fold(3)
        );
        let recovered = resolved(BY_MONITORING, 1_000);
        assert_eq!(
            on_problem(None, Some(&recovered), 1_000 + 300_000, &config),
            OnProblem::Reopen(7)
        );
        assert_eq!(
            on_problem(None, Some(&recovered), 1_000 + 300_001, &config),
            OnProblem::Open
        );
        // Somebody closed it: the next problem is a new incident.
        assert_eq!(
            on_problem(None, Some(&resolved("anna", 1_000)), 2_000, &config),
            OnProblem::Open
        );
        assert_eq!(on_problem(None, None, 0, &config), OnProblem::Open);
    }

    #[test]
    fn timers_escalate_until_the_top_line() {
        let config = IncidentConfig::default();
        assert_eq!(
            on_due(IncidentStatus::Open, 1, 10, &config),
            OnDue::Escalate {
                line: 2,
                due_at: 10 + 900_000
            }
        );
        assert_eq!(
            on_due(IncidentStatus::Taken, 2, 10, &config),
            OnDue::Escalate {
                line: 3,
                due_at: 10 + 4 * 3_600_000
            }
        );
        assert_eq!(on_due(IncidentStatus::Open, 3, 10, &config), OnDue::Overdue);
    }
}
