//! Incidents, their steps and the events told about them. Plain data.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;

/// Where an incident stands: waiting to be taken, taken (being worked), resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Taken,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Taken => "taken",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<IncidentStatus> {
        [
            IncidentStatus::Open,
            IncidentStatus::Taken,
            IncidentStatus::Resolved,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One incident: an alarm's problem, for an organization (when its host is a known asset),
/// worked as a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its number, as people and the chat say it (`!take 12`).
    pub id: i64,
    /// `zabbix` or `alertmanager`.
    pub source: String,
    pub title: String,
    pub host: String,
    pub address: String,
    pub severity: String,
    pub organization_id: Option<i64>,
    /// The organization's name, when there is one.
    pub organization: Option<String>,
    pub asset_id: Option<i64>,
    /// The ticket it is worked as.
    pub ticket_id: i64,
    pub status: IncidentStatus,
    /// The support line it is on (its ticket's).
    pub line: u8,
    /// How many problem events were folded into it (the first, repeats of the condition,
    /// flapping).
    pub occurrences: i64,
    pub opened_at: Millis,
    pub taken_at: Option<Millis>,
    pub taken_by: Option<String>,
    pub resolved_at: Option<Millis>,
    pub resolved_by: Option<String>,
    /// When the running timer runs out: to be taken while open, to be resolved while taken.
    /// None once resolved, or once the top line's timer ran out.
    pub due_at: Option<Millis>,
    pub updated_at: Millis,
    /// Its history, oldest first (filled where a listing asks for it).
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// What happened to an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Opened,
    /// Another problem event of the same condition folded in.
    Updated,
    /// The problem came back within the flap window of its recovery.
    Reopened,
    Taken,
    /// A timer ran out: one line up.
    Escalated,
    /// A timer ran out on the top line: nowhere higher to go.
    Overdue,
    Resolved,
}

impl StepKind {
    pub const ALL: [StepKind; 7] = [
        StepKind::Opened,
        StepKind::Updated,
        StepKind::Reopened,
        StepKind::Taken,
        StepKind::Escalated,
        StepKind::Overdue,
        StepKind::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Opened => "opened",
            StepKind::Updated => "updated",
            StepKind::Reopened => "reopened",
            StepKind::Taken => "taken",
            StepKind::Escalated => "escalated",
            StepKind::Overdue => "overdue",
            StepKind::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One step of an incident's history: what, who, when, on which line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    /// A user's name, `monitoring` (an alarm) or `switchdesk` (a timer).
    pub by: String,
    pub line: u8,
    pub at: Millis,
}

/// Who a step is by when monitoring caused it.
pub const BY_MONITORING: &str = "monitoring";
/// Who a step is by when a timer caused it.
pub const BY_TIMER: &str = "switchdesk";

/// What a chat notifier (or any subscriber) is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentEventKind {
    Opened,
    /// Folded another occurrence in, or reopened by flapping.
    Updated,
    Taken,
    /// A timer ran out (one line up, or overdue on the top line).
    Escalated,
    Resolved,
}

/// An incident changed: broadcast by [`super::Incidents`] after the change committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentEvent {
    pub kind: IncidentEventKind,
    /// The incident's number (`Incident::id`).
    pub number: i64,
    /// The organization's name, if the host is a known asset.
    pub organization: Option<String>,
    pub title: String,
    pub line: u8,
    /// Who caused it: a user, `monitoring` or `switchdesk`.
    pub who: String,
    pub at: Millis,
    /// The incident as it is now (status, timers, occurrences).
    pub incident: Incident,
}

impl IncidentEvent {
    pub fn new(kind: IncidentEventKind, incident: &Incident, who: &str, at: Millis) -> Self {
        IncidentEvent {
            kind,
            number: incident.id,
            organization: incident.organization.clone(),
            title: incident.title.clone(),
            line: incident.line,
            who: who.to_owned(),
            at,
            incident: incident.clone(),
        }
    }
}
