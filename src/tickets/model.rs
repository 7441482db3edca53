//! Tickets and what hangs off them: status, priority, SLA clocks, time entries and notes.
//! Plain data; the rules that make them live in [`super::rules`].

use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::Millis;

/// Where a ticket stands. `new`, `open` and `pending` are open: calls are threaded into them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::Resolved,
        Status::Closed,
    ];
    pub const OPEN: [Status; 3] = [Status::New, Status::Open, Status::Pending];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }
}

/// What a ticket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketKind {
    /// A queue call an agent answered.
    Call,
    /// A caller who gave up waiting: somebody has to call back.
    Callback,
    Fax,
    Voicemail,
    /// Opened by hand.
    Manual,
    /// An incident from monitoring (`crate::incidents`).
    Incident,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Call => "call",
            TicketKind::Callback => "callback",
            TicketKind::Fax => "fax",
            TicketKind::Voicemail => "voicemail",
            TicketKind::Manual => "manual",
            TicketKind::Incident => "incident",
        }
    }
    pub fn parse(text: &str) -> Option<TicketKind> {
        [
            TicketKind::Call,
            TicketKind::Callback,
            TicketKind::Fax,
            TicketKind::Voicemail,
            TicketKind::Manual,
            TicketKind::Incident,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Highest priority is 1; 3 is the lowest.
pub const PRIORITY_HIGH: u8 = 1;
pub const PRIORITY_NORMAL: u8 = 2;
pub const PRIORITY_LOW: u8 = 3;

/// One ticket. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub subject: String,
    pub status: Status,
    /// 1 (high) to 3 (low).
    pub priority: u8,
    /// "Company-wide / management": shown above everything else.
    pub starred: bool,
    pub kind: TicketKind,
    pub organization_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// The caller's number (E.164 when it reads as one).
    pub caller_number: String,
    /// Nobody in the phone book matched the caller.
    pub unidentified: bool,
    pub queue: Option<String>,
    /// Who works it: the agent who answered its first call, or whoever opened it by hand,
    /// until somebody reassigns it.
    pub assignee: Option<String>,
    /// When the customer first asked: the start of its first call, or when it was opened by
    /// hand. No response or resolution is stamped earlier.
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_call_at: Option<Millis>,
    pub first_response_due: Option<Millis>,
    pub first_response_at: Option<Millis>,
    pub resolution_due: Option<Millis>,
    pub resolved_at: Option<Millis>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// The support line working it: 1 to 3 (`[tickets] lines` names them).
    pub line: u8,
    /// A key of `[tickets] categories`.
    pub category: String,
    /// The caller's rating of its latest rated call (1-5, the survey after a call).
    pub rating: Option<u8>,
    /// A rating at or below `[tickets] low_rating` came in: flagged for a manager, who
    /// clears it.
    pub low_rating: bool,
}

/// A ticket about to be stored (no id yet).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct NewTicket {
    pub subject: String,
    /// A key of `[tickets] categories` (a new ticket is on line 1).
    pub category: String,
    pub status: Status,
    pub priority: u8,
    pub starred: bool,
    pub kind: TicketKind,
    pub organization_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub caller_number: String,
    pub unidentified: bool,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    pub created_at: Millis,
    pub last_call_at: Option<Millis>,
    pub first_response_at: Option<Millis>,
    pub first_response_due: Option<Millis>,
    pub resolution_due: Option<Millis>,
}

/// What a person may change on a ticket; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketPatch {
    pub status: Option<Status>,
    pub priority: Option<u8>,
    pub starred: Option<bool>,
    pub subject: Option<String>,
    /// A key of `[tickets] categories` (the API checks it against the configuration).
    pub category: Option<String>,
    /// `Some(None)` (`"assignee": null`) unassigns; absent leaves it.
    #[serde(deserialize_with = "present")]
    pub assignee: Option<Option<String>>,
    /// `false` clears the low-rating flag (a manager's); it is raised only by a rating.
    pub low_rating: Option<bool>,
}

/// A field that was sent, `null` included (absent stays `None` through `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The longest name an assignee may have.
pub const MAX_ASSIGNEE: usize = 100;

impl TicketPatch {
    pub fn problems(&self) -> Option<String> {
        if let Some(Some(name)) = &self.assignee {
            if name.trim().is_empty()
                || name.len() > MAX_ASSIGNEE
                || name.chars().any(char::is_control)
            {
                return Some(format!(
                    "assignee must be a name of 1 to {MAX_ASSIGNEE} bytes, or null"
                ));
            }
        }
        if matches!(self.priority, Some(p) if !(PRIORITY_HIGH..=PRIORITY_LOW).contains(&p)) {
            return Some("priority must be 1, 2 or 3".into());
        }
        if matches!(&self.subject, Some(s) if s.trim().is_empty() || s.len() > 500) {
            return Some("subject must be 1 to 500 characters".into());
        }
        if self.low_rating == Some(true) {
            return Some(
                "low_rating can only be cleared (false): a caller's rating raises it".into(),
            );
        }
        None
    }
}

/// Agent time booked on a ticket, costed at the agent's rate when it was booked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeEntry {
    pub id: i64,
    pub ticket_id: i64,
    pub call_id: Option<String>,
    /// The agent leg it was measured on; a CDR posted again books nothing twice.
    pub leg_uuid: Option<String>,
    pub agent: String,
    pub queue: Option<String>,
    pub seconds: i64,
    pub hourly_rate_cents: i64,
    pub cost_cents: i64,
    pub at: Millis,
}

impl TimeEntry {
    /// The cost of `seconds` at `hourly_rate_cents`, rounded to the nearest cent.
    pub fn cost(seconds: i64, hourly_rate_cents: i64) -> i64 {
        // Wide and saturating: neither a forged talk time nor a large rate can wrap into a
        // negative cost.
        let cents =
            (i128::from(seconds.max(0)) * i128::from(hourly_rate_cents.max(0)) + 1800) / 3600;
        i64::try_from(cents).unwrap_or(i64::MAX)
    }
}

/// One entry of a ticket's history: a note, or an escalation with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: i64,
    pub ticket_id: i64,
    pub author: String,
    /// The note, or the escalation's reason.
    pub body: String,
    pub at: Millis,
    pub kind: NoteKind,
    /// The line an escalation moved the ticket to; None for a note.
    pub line: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    Note,
    Escalation,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::Escalation => "escalation",
        }
    }
    pub fn parse(text: &str) -> Option<NoteKind> {
        [NoteKind::Note, NoteKind::Escalation]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The tickets of one category and line created in a period, and how many of them kept
/// their SLA. A clock is kept when it was met by its deadline, or is still running; a ticket
/// is within SLA when it kept both clocks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlaRow {
    pub category: String,
    pub line: u8,
    pub tickets: i64,
    pub first_response_kept: i64,
    pub resolution_kept: i64,
    pub within_sla: i64,
}

impl SlaRow {
    /// The share of tickets within SLA, in percent (None without tickets).
    pub fn within_percent(&self) -> Option<f64> {
        (self.tickets > 0).then(|| self.within_sla as f64 * 100.0 / self.tickets as f64)
    }
}

/// A change a ticket went through, for the dashboard and the external helpdesk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TicketEvent {
    Created {
        ticket: Ticket,
    },
    Updated {
        ticket: Ticket,
    },
    /// An SLA clock ran out: `clock` is `first_response` or `resolution`.
    Escalated {
        ticket: Ticket,
        clock: String,
    },
    /// A caller rated the ticket's call at or below `[tickets] low_rating`: the ticket is
    /// flagged for a manager.
    LowRating {
        ticket: Ticket,
        rating: u8,
    },
}

impl TicketEvent {
    pub fn name(&self) -> &'static str {
        match self {
            TicketEvent::Created { .. } => "ticket.created",
            TicketEvent::Updated { .. } => "ticket.updated",
            TicketEvent::Escalated { .. } => "ticket.escalated",
            TicketEvent::LowRating { .. } => "ticket.low_rating",
        }
    }
    pub fn ticket(&self) -> &Ticket {
        match self {
            TicketEvent::Created { ticket }
            | TicketEvent::Updated { ticket }
            | TicketEvent::Escalated { ticket, .. }
            | TicketEvent::LowRating { ticket, .. } => ticket,
        }
    }
}

/// The earliest a person or a call can have answered or resolved a ticket created at
/// `created_at`: a time stamped by a clock behind the switch's (or a call filed late) counts
/// as the creation, never before it.
pub fn not_before(created_at: Millis, at: Millis) -> Millis {
    at.max(created_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_null_from_absent() {
        let absent: TicketPatch = serde_json::from_str(r#"{"status": "open"}"#).unwrap();
        assert_eq!(absent.assignee, None);
        let null: TicketPatch = serde_json::from_str(r#"{"assignee": null}"#).unwrap();
        assert_eq!(null.assignee, Some(None));
        let named: TicketPatch = serde_json::from_str(r#"{"assignee": "bob"}"#).unwrap();
        assert_eq!(named.assignee, Some(Some("bob".into())));
        let blank: TicketPatch = serde_json::from_str(r#"{"assignee": " "}"#).unwrap();
        assert!(blank.problems().is_some());
    }

    #[test]
    fn cost_is_rounded_to_the_cent() {
        assert_eq!(TimeEntry::cost(3600, 4500), 4500);
        assert_eq!(TimeEntry::cost(90, 3600), 90);
        assert_eq!(TimeEntry::cost(1, 1000), 0);
        assert_eq!(TimeEntry::cost(2, 1000), 1);
        // Out of range never wraps into a negative cost.
        assert_eq!(TimeEntry::cost(i64::MAX, i64::MAX), i64::MAX);
        assert_eq!(TimeEntry::cost(-3600, 4500), 0);
    }

    #[test]
    fn statuses_read_back() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert!(Status::Pending.is_open() && !Status::Resolved.is_open());
    }
}
