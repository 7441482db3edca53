//! The rules that turn a finished call into ticket work: open a ticket, thread the call into
//! the caller's open ticket, or leave it alone. Pure: the call and the caller's open ticket
//! in, a [`Plan`] out; the store carries it out.
//!
//! - an answered queue call opens a ticket (status `open`, created when the call started,
//!   first response = the answer, assigned to the agent who answered);
//! - a call from the same caller within the repeat window is appended to their open ticket;
//! - an abandoned queue call opens a callback ticket at raised priority;
//! - a fax or a voicemail opens a ticket of its own kind;
//! - an unknown caller's ticket is marked unidentified and carries the number;
//! - a callback the customer answered is threaded into their open ticket;
//! - while the caller's organization has an incident open, the call joins its ticket.

use serde::{Deserialize, Serialize};

use super::model::{
    not_before, NewTicket, Status, Ticket, TicketKind, PRIORITY_HIGH, PRIORITY_NORMAL,
};
use super::targets::{self, Category};
use crate::cdr::{CallKind, CallRecord, Outcome};
use crate::clock::Millis;
use crate::texts::{self, Opened};

/// `[tickets]` in the configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketRules {
    /// A call within this many minutes of the caller's last one joins their open ticket.
    pub repeat_window_minutes: i64,
    /// First-response targets for priorities 1, 2 and 3, in minutes.
    pub first_response_minutes: [i64; 3],
    /// Resolution targets for priorities 1, 2 and 3, in minutes.
    pub resolution_minutes: [i64; 3],
    /// The first-response target of a ticket a caller opened by phoning a queue (an answer by
    /// an agent is its first response), in seconds; 0 leaves those to `first_response_minutes`.
    pub call_first_response_seconds: i64,
    /// The names of support lines 1, 2 and 3.
    pub lines: [String; 3],
    /// The queue each line calls its callers back from (`""`: none of its own): a ticket
    /// escalated to that line has its caller's callback moved there, or queued there when
    /// it is an abandoned caller's ticket still open.
    pub line_queues: [String; 3],
    /// The categories a ticket can have, with their own SLA targets if any.
    pub categories: Vec<Category>,
    /// The category of tickets opened by calls, and by hand when none is given.
    pub default_category: String,
    /// Which calls open tickets.
    pub answered: bool,
    pub abandoned: bool,
    pub fax: bool,
    pub voicemail: bool,
    /// Open tickets for callers the phone book does not know (marked unidentified).
    pub unidentified: bool,
    /// Hourly rate of agents without one of their own, in cents.
    pub default_hourly_rate_cents: i64,
    /// A caller's rating (1-5) at or below this flags the ticket for a manager; 0 never does.
    pub low_rating: u8,
    /// The language subjects are written in: `[service] language`, not a key of `[tickets]`
    /// (see `Config::ticket_rules`).
    #[serde(skip)]
    pub language: texts::Language,
}

impl Default for TicketRules {
    fn default() -> Self {
        TicketRules {
            repeat_window_minutes: 24 * 60,
            first_response_minutes: [30, 4 * 60, 24 * 60],
            resolution_minutes: [8 * 60, 3 * 24 * 60, 7 * 24 * 60],
            call_first_response_seconds: 90,
            lines: targets::default_lines(),
            line_queues: Default::default(),
            categories: Category::defaults(),
            default_category: "information".into(),
            answered: true,
            abandoned: true,
            fax: true,
            voicemail: true,
            unidentified: true,
            default_hourly_rate_cents: 0,
            low_rating: 2,
            language: texts::Language::En,
        }
    }
}

impl TicketRules {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.repeat_window_minutes < 0 {
            problems.push("tickets.repeat_window_minutes must not be negative".into());
        }
        if self
            .first_response_minutes
            .iter()
            .chain(&self.resolution_minutes)
            .any(|&m| m <= 0)
        {
            problems.push("tickets SLA targets must be positive minutes".into());
        }
        if self.call_first_response_seconds < 0 {
            problems.push("tickets.call_first_response_seconds must not be negative".into());
        }
        problems.extend(targets::problems(
            &self.lines,
            &self.categories,
            &self.default_category,
        ));
        for (n, queue) in self.line_queues.iter().enumerate() {
            if queue.trim() != queue || queue.len() > 64 || queue.chars().any(char::is_control) {
                problems.push(format!(
                    "tickets.line_queues[{n}] must be a queue's name (or \"\" for none)"
                ));
            }
        }
        if self.default_hourly_rate_cents < 0 {
            problems.push("tickets.default_hourly_rate_cents must not be negative".into());
        }
        if self.low_rating > 5 {
            problems.push("tickets.low_rating must be 0-5 (a rating at or below it flags the ticket; 0: never)".into());
        }
        problems
    }

    /// The queue support line `line` (1-3) calls back from, if it has one.
    pub fn line_queue(&self, line: u8) -> Option<&str> {
        let queue = self.line_queues.get(usize::from(line).checked_sub(1)?)?;
        (!queue.is_empty()).then_some(queue.as_str())
    }

    pub fn repeat_window_ms(&self) -> Millis {
        self.repeat_window_minutes * 60_000
    }

    /// The configured category `key`, if any.
    pub fn category(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }

    /// `key` if it is a configured category, else why not (for the API).
    pub fn known_category(&self, key: &str) -> Result<(), String> {
        match self.category(key) {
            Some(_) => Ok(()),
            None => Err(format!(
                "category {key:?} is not one of {}",
                self.categories
                    .iter()
                    .map(|c| c.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The SLA deadlines of a ticket of `kind`, `category` and `priority` created at `at`:
    /// (first response, resolution), by the rule in [`targets`].
    pub fn deadlines(
        &self,
        kind: TicketKind,
        category: &str,
        priority: u8,
        at: Millis,
    ) -> (Millis, Millis) {
        let index = usize::from(priority.clamp(1, 3) - 1);
        let category = self.category(category);
        let phoned = matches!(kind, TicketKind::Call | TicketKind::Callback);
        let first_response_secs = match category.and_then(|c| c.first_response_seconds) {
            Some(seconds) => seconds[index],
            None if phoned && self.call_first_response_seconds > 0 => {
                self.call_first_response_seconds
            }
            None => self.first_response_minutes[index] * 60,
        };
        let resolution_minutes = category
            .and_then(|c| c.resolution_minutes)
            .unwrap_or(self.resolution_minutes)[index];
        (
            at.saturating_add(first_response_secs.saturating_mul(1000)),
            at.saturating_add(resolution_minutes.saturating_mul(60_000)),
        )
    }
}

/// What a call does to the tickets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// No ticket work (a refused caller, an internal call, a rule switched off).
    Nothing,
    Create(NewTicket),
    /// Thread the call into an existing ticket, with the changes it brings.
    Append(Append),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Append {
    pub ticket_id: i64,
    pub status: Status,
    pub priority: u8,
    pub first_response_at: Option<Millis>,
    pub last_call_at: Millis,
    /// When the threaded call started: a call filed late (CDRs posted out of order) that
    /// started before the ticket was created moves its creation back to it.
    pub started_at: Millis,
    /// The agent who answered the call: the ticket's assignee if it has none.
    pub assignee: Option<String>,
}

/// The key the caller's open ticket is found by: their contact, else their number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerKey {
    Contact(i64),
    Number(String),
}

/// Who called, for finding their open ticket; None when nothing identifies them.
pub fn caller_key(call: &CallRecord) -> Option<CallerKey> {
    if let Some(contact) = call.contact_id {
        return Some(CallerKey::Contact(contact));
    }
    let number = call.caller_e164.as_deref().unwrap_or(&call.caller_number);
    (!number.is_empty()).then(|| CallerKey::Number(number.to_owned()))
}

/// Whether a call joins the open incident of its caller's organization instead of the
/// caller's own ticket: every call that threads, except a callback (it belongs to the ticket
/// that asked for it).
pub fn joins_incident(call: &CallRecord) -> bool {
    threads(call) && call.kind != CallKind::Callback
}

/// Whether a call of this kind is threaded into the caller's open ticket (faxes are documents
/// of their own and always get one).
pub fn threads(call: &CallRecord) -> bool {
    !matches!(call.kind, CallKind::Fax)
}

/// Decides what `call` does, given the caller's open ticket (one with activity inside the
/// repeat window; for a callback, any open ticket).
pub fn plan(call: &CallRecord, open: Option<&Ticket>, rules: &TicketRules) -> Plan {
    let kind = match (call.kind, call.outcome) {
        (CallKind::Fax, _) if rules.fax => TicketKind::Fax,
        (CallKind::Queue | CallKind::Direct, Outcome::Voicemail) if rules.voicemail => {
            TicketKind::Voicemail
        }
        (CallKind::Queue, Outcome::Answered) if rules.answered => TicketKind::Call,
        (CallKind::Queue, Outcome::Abandoned) if rules.abandoned => TicketKind::Callback,
        (CallKind::Callback, Outcome::Answered) => TicketKind::Call,
        (CallKind::Callback, Outcome::Missed) => {
            // An unanswered callback attempt is history on the ticket, nothing more.
            return match open {
                Some(ticket) => Plan::Append(append(call, ticket, None)),
                None => Plan::Nothing,
            };
        }
        _ => return Plan::Nothing,
    };
    if !call.is_identified() && !rules.unidentified && call.kind != CallKind::Callback {
        return Plan::Nothing;
    }
    let raised = matches!(kind, TicketKind::Callback) || call.vip;
    if let Some(ticket) = open.filter(|_| threads(call)) {
        return Plan::Append(append(call, ticket, raised.then_some(PRIORITY_HIGH)));
    }
    let priority = if raised {
        PRIORITY_HIGH
    } else {
        PRIORITY_NORMAL
    };
    // The customer asked when the call started, not when its CDR arrived: the answer (the
    // first response) comes after that, and the SLA clocks count from it.
    let at = call.started_at;
    let category = rules.default_category.clone();
    let (first_response_due, resolution_due) = rules.deadlines(kind, &category, priority, at);
    let answered = call.outcome == Outcome::Answered;
    Plan::Create(NewTicket {
        subject: subject(call, kind, rules.language),
        category,
        status: if answered { Status::Open } else { Status::New },
        priority,
        starred: false,
        kind,
        organization_id: call.organization_id,
        contact_id: call.contact_id,
        caller_number: call
            .caller_e164
            .clone()
            .unwrap_or_else(|| call.caller_number.clone()),
        unidentified: !call.is_identified(),
        queue: call.queue.clone(),
        assignee: answered.then(|| call.agent.clone()).flatten(),
        created_at: at,
        last_call_at: Some(call.started_at),
        first_response_at: answered
            .then_some(call.answered_at)
            .flatten()
            .map(|answer| not_before(at, answer)),
        first_response_due: Some(first_response_due),
        resolution_due: Some(resolution_due),
    })
}

fn append(call: &CallRecord, ticket: &Ticket, raise_to: Option<u8>) -> Append {
    let answered = call.outcome == Outcome::Answered;
    let status = match ticket.status {
        Status::New | Status::Pending if answered => Status::Open,
        other => other,
    };
    let created_at = ticket.created_at.min(call.started_at);
    let answer = answered.then_some(call.answered_at).flatten();
    // The earliest answer is the first response, whichever CDR came in first.
    let first_response_at = match (ticket.first_response_at, answer) {
        (Some(before), Some(now)) => Some(before.min(now)),
        (before, now) => before.or(now),
    };
    Append {
        ticket_id: ticket.id,
        status,
        priority: raise_to.map_or(ticket.priority, |p| p.min(ticket.priority)),
        first_response_at: first_response_at.map(|at| not_before(created_at, at)),
        last_call_at: call.started_at,
        started_at: call.started_at,
        // An incident's ticket is worked by whoever takes the incident, not by the agents
        // who answer its organization's calls.
        assignee: (answered && ticket.kind != TicketKind::Incident)
            .then(|| call.agent.clone())
            .flatten(),
    }
}

/// A call's rating put on its ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rated {
    pub ticket_id: i64,
    pub rating: u8,
    /// At or below `[tickets] low_rating`: the ticket is flagged for a manager.
    pub low: bool,
}

/// What a filed call's rating does to its ticket, given the rating the call was stored with
/// before (`stored`): nothing unless the call has a ticket and a rating it did not carry
/// before (its legs arrive one by one, and each rebuilds the call), else the rating, flagged
/// when low.
pub fn rated(call: &CallRecord, stored: Option<u8>, rules: &TicketRules) -> Option<Rated> {
    let rating = call.rating.filter(|r| (1..=5).contains(r))?;
    if stored == Some(rating) {
        return None;
    }
    Some(Rated {
        ticket_id: call.ticket_id?,
        rating,
        low: rating <= rules.low_rating,
    })
}

/// "Call from Jane Doe (+1 555…) — support": who, and through which door, in `language`.
fn subject(call: &CallRecord, kind: TicketKind, language: texts::Language) -> String {
    let number = call.caller_e164.as_deref().unwrap_or(&call.caller_number);
    let who = match (call.caller_name.trim(), number) {
        (name, "") if !name.is_empty() => name.to_owned(),
        ("", number) => number.to_owned(),
        (name, number) if name == number => number.to_owned(),
        (name, number) => format!("{name} ({number})"),
    };
    let who = if who.is_empty() {
        language.unknown_caller().to_owned()
    } else {
        who
    };
    let queue = call.queue.as_deref();
    let to = call.destination.as_str();
    let opened = match kind {
        TicketKind::Call if call.kind == CallKind::Callback => Opened::Callback,
        TicketKind::Call => Opened::Call { queue },
        TicketKind::Callback => Opened::Missed { queue },
        TicketKind::Fax if call.outcome == Outcome::FaxFailed => Opened::FailedFax { to },
        TicketKind::Fax => Opened::Fax { to },
        TicketKind::Voicemail => Opened::Voicemail { queue },
        TicketKind::Manual | TicketKind::Incident => Opened::Manual,
    };
    language.ticket_subject(opened, &who)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(outcome: Outcome) -> CallRecord {
        CallRecord {
            id: "c1".into(),
            kind: CallKind::Queue,
            outcome,
            caller_number: "+15550001".into(),
            caller_e164: Some("+15550001".into()),
            caller_name: "Jane Doe".into(),
            destination: "7000".into(),
            queue: Some("support".into()),
            agent: Some("alice".into()),
            started_at: 1_000,
            answered_at: Some(21_000),
            ended_at: 81_000,
            wait_secs: 20,
            talk_secs: 60,
            hangup_cause: "NORMAL_CLEARING".into(),
            recording: None,
            identified: "exact".into(),
            contact_id: Some(7),
            organization_id: Some(3),
            vip: false,
            ticket_id: None,
            rating: None,
        }
    }

    fn ticket(status: Status, priority: u8) -> Ticket {
        Ticket {
            id: 9,
            subject: "x".into(),
            status,
            priority,
            starred: false,
            kind: TicketKind::Callback,
            organization_id: Some(3),
            contact_id: Some(7),
            caller_number: "+15550001".into(),
            unidentified: false,
            queue: None,
            assignee: None,
            created_at: 0,
            updated_at: 0,
            last_call_at: Some(0),
            first_response_due: None,
            first_response_at: None,
            resolution_due: None,
            resolved_at: None,
            first_response_breached: false,
            resolution_breached: false,
            line: 1,
            category: "information".into(),
            rating: None,
            low_rating: false,
        }
    }

    #[test]
    fn an_answered_call_opens_a_ticket_answered_at_pickup() {
        let Plan::Create(new) = plan(&call(Outcome::Answered), None, &TicketRules::default())
        else {
            panic!("expected a new ticket");
        };
        assert_eq!(new.status, Status::Open);
        assert_eq!(new.priority, PRIORITY_NORMAL);
        // Created when the caller called (1 s), answered 20 s later, by alice.
        assert_eq!(new.created_at, 1_000);
        assert_eq!(new.first_response_at, Some(21_000));
        // A call's first response is due 90 s after the caller called.
        assert_eq!(new.first_response_due, Some(1_000 + 90_000));
        assert_eq!(new.category, "information");
        assert_eq!(new.assignee.as_deref(), Some("alice"));
        assert_eq!(new.subject, "Call from Jane Doe (+15550001) — support");
        assert!(!new.unidentified);
    }

    #[test]
    fn an_abandoned_call_asks_for_a_callback_at_high_priority() {
        let mut abandoned = call(Outcome::Abandoned);
        abandoned.contact_id = None;
        abandoned.organization_id = None;
        let Plan::Create(new) = plan(&abandoned, None, &TicketRules::default()) else {
            panic!("expected a new ticket");
        };
        assert_eq!(new.kind, TicketKind::Callback);
        assert_eq!(new.priority, PRIORITY_HIGH);
        assert_eq!(new.status, Status::New);
        assert!(new.unidentified);
        assert_eq!(new.caller_number, "+15550001");
    }

    #[test]
    fn a_repeat_call_joins_the_open_ticket_and_answers_it() {
        let open = ticket(Status::New, PRIORITY_HIGH);
        let Plan::Append(append) = plan(
            &call(Outcome::Answered),
            Some(&open),
            &TicketRules::default(),
        ) else {
            panic!("expected an append");
        };
        assert_eq!(append.ticket_id, 9);
        assert_eq!(append.status, Status::Open);
        assert_eq!(append.priority, PRIORITY_HIGH);
        assert_eq!(append.first_response_at, Some(21_000));
    }

    #[test]
    fn no_ticket_is_answered_before_it_was_created() {
        // An answer stamped before the call's start (clocks of two nodes) is the start.
        let mut skewed = call(Outcome::Answered);
        skewed.answered_at = Some(500);
        let Plan::Create(new) = plan(&skewed, None, &TicketRules::default()) else {
            panic!("expected a new ticket");
        };
        assert_eq!(new.first_response_at, Some(new.created_at));
        // The CDR of an earlier call filed after the ticket of a later one: the ticket was
        // created at the earlier call's start, and answered at its answer.
        let mut later = ticket(Status::Open, PRIORITY_NORMAL);
        later.created_at = 50_000;
        later.first_response_at = Some(70_000);
        later.assignee = Some("bob".into());
        let Plan::Append(append) = plan(
            &call(Outcome::Answered),
            Some(&later),
            &TicketRules::default(),
        ) else {
            panic!("expected an append");
        };
        assert_eq!(append.started_at, 1_000);
        assert_eq!(append.first_response_at, Some(21_000));
        assert!(append.first_response_at >= Some(append.started_at.min(later.created_at)));
        // The agent who answered is offered as the assignee; the store keeps bob's.
        assert_eq!(append.assignee.as_deref(), Some("alice"));
    }

    #[test]
    fn a_missed_call_leaves_its_ticket_unassigned() {
        let Plan::Create(new) = plan(&call(Outcome::Abandoned), None, &TicketRules::default())
        else {
            panic!("expected a new ticket");
        };
        assert_eq!(new.assignee, None);
        assert_eq!(new.first_response_at, None);
    }

    #[test]
    fn a_rating_reaches_the_ticket_once_and_a_low_one_flags_it() {
        let rules = TicketRules::default();
        let mut rated_call = call(Outcome::Answered);
        rated_call.ticket_id = Some(7);
        rated_call.rating = Some(4);
        assert_eq!(
            rated(&rated_call, None, &rules),
            Some(Rated {
                ticket_id: 7,
                rating: 4,
                low: false
            })
        );
        // The next leg rebuilds the same call: nothing again.
        assert_eq!(rated(&rated_call, Some(4), &rules), None);
        rated_call.rating = Some(2);
        assert!(
            rated(&rated_call, None, &rules).unwrap().low,
            "2 is low by default"
        );
        let never = TicketRules {
            low_rating: 0,
            ..TicketRules::default()
        };
        rated_call.rating = Some(1);
        assert!(!rated(&rated_call, None, &never).unwrap().low);
        // No rating, no ticket: nothing.
        rated_call.ticket_id = None;
        assert_eq!(rated(&rated_call, None, &rules), None);
        assert_eq!(rated(&call(Outcome::Answered), None, &rules), None);
        assert!(TicketRules {
            low_rating: 6,
            ..TicketRules::default()
        }
        .problems()
        .iter()
        .any(|p| p.contains("low_rating")));
    }

    #[test]
    fn refused_callers_and_switched_off_rules_make_nothing() {
        assert_eq!(
            plan(&call(Outcome::Missed), None, &TicketRules::default()),
            Plan::Nothing
        );
        let rules = TicketRules {
            unidentified: false,
            ..TicketRules::default()
        };
        let mut unknown = call(Outcome::Answered);
        unknown.contact_id = None;
        unknown.organization_id = None;
        assert_eq!(plan(&unknown, None, &rules), Plan::Nothing);
    }

    #[test]
    fn a_category_overrides_the_targets_of_its_priority() {
        let mut rules = TicketRules::default();
        rules.categories[3].first_response_seconds = Some([30, 60, 120]);
        rules.categories[3].resolution_minutes = Some([60, 120, 240]);
        let min = 60_000;
        // Emergency: its own targets, for a call as for a ticket opened by hand.
        assert_eq!(
            rules.deadlines(TicketKind::Call, "emergency", 2, 0),
            (60_000, 120 * min)
        );
        assert_eq!(
            rules.deadlines(TicketKind::Manual, "emergency", 1, 0),
            (30_000, 60 * min)
        );
        // Information: a call's first response is due in 90 s, a fax's by its priority.
        assert_eq!(
            rules.deadlines(TicketKind::Callback, "information", 1, 0),
            (90_000, 8 * 60 * min)
        );
        assert_eq!(
            rules.deadlines(TicketKind::Fax, "information", 1, 0),
            (30 * min, 8 * 60 * min)
        );
        // Switched off, calls take the per-priority minutes too; an unknown key the defaults.
        rules.call_first_response_seconds = 0;
        assert_eq!(
            rules.deadlines(TicketKind::Call, "gone", 3, 0),
            (24 * 60 * min, 7 * 24 * 60 * min)
        );
        assert!(rules
            .known_category("gone")
            .unwrap_err()
            .contains("emergency"));
    }

    #[test]
    fn a_fax_always_gets_its_own_ticket() {
        let mut fax = call(Outcome::Fax);
        fax.kind = CallKind::Fax;
        let open = ticket(Status::Open, 2);
        assert!(matches!(
            plan(&fax, Some(&open), &TicketRules::default()),
            Plan::Create(NewTicket {
                kind: TicketKind::Fax,
                ..
            })
        ));
    }
}
