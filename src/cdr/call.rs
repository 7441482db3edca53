//! A call put together from its legs: the caller's (or a callback's customer) leg and every
//! agent leg switchdesk offered it to. Legs arrive in any order, one POST each; the record is
//! rebuilt from whatever legs are known, so a late agent leg only fills in the agent. Pure.

use serde::{Deserialize, Serialize};

use super::leg::{rounded_secs, Leg, LegRole};
use crate::clock::Millis;

/// What kind of call it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    /// A caller on a switchdesk queue.
    Queue,
    /// A callback switchdesk placed to a customer.
    Callback,
    /// A fax received on a fax DID.
    Fax,
    /// Any other inbound call FreeSWITCH reported.
    Direct,
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An agent talked to the caller (or the customer was reached on a callback).
    Answered,
    /// The caller waited in a queue and hung up (or asked for a callback) before an agent.
    Abandoned,
    /// The caller left a voicemail.
    Voicemail,
    /// A fax came through.
    Fax,
    /// A fax reception failed.
    FaxFailed,
    /// Never queued (refused, or gone before the queue took it), or a callback nobody answered.
    Missed,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Queue => "queue",
            CallKind::Callback => "callback",
            CallKind::Fax => "fax",
            CallKind::Direct => "direct",
        }
    }
    pub fn parse(text: &str) -> Option<CallKind> {
        [
            CallKind::Queue,
            CallKind::Callback,
            CallKind::Fax,
            CallKind::Direct,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Abandoned => "abandoned",
            Outcome::Voicemail => "voicemail",
            Outcome::Fax => "fax",
            Outcome::FaxFailed => "fax_failed",
            Outcome::Missed => "missed",
        }
    }
    pub fn parse(text: &str) -> Option<Outcome> {
        [
            Outcome::Answered,
            Outcome::Abandoned,
            Outcome::Voicemail,
            Outcome::Fax,
            Outcome::FaxFailed,
            Outcome::Missed,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// One call as managers review it. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The caller (or customer) leg's UUID.
    pub id: String,
    pub kind: CallKind,
    pub outcome: Outcome,
    pub caller_number: String,
    /// The caller's number in E.164, when it reads as one.
    pub caller_e164: Option<String>,
    pub caller_name: String,
    /// The DID the caller dialled (or the number a callback dialled).
    pub destination: String,
    pub queue: Option<String>,
    /// The agent who talked to the caller (the last one, after a transfer).
    pub agent: Option<String>,
    pub started_at: Millis,
    /// When an agent picked up.
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    /// From arrival to an agent (or to the end, for a caller who gave up).
    pub wait_secs: i64,
    /// Agents' talk time on the call, all agent legs together.
    pub talk_secs: i64,
    pub hangup_cause: String,
    pub recording: Option<String>,
    /// `exact`, `organization`, `name` or `unknown`.
    pub identified: String,
    pub contact_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub vip: bool,
    pub ticket_id: Option<i64>,
    /// The caller's rating of the call (1-5), from the survey after it.
    #[serde(default)]
    pub rating: Option<u8>,
}

impl CallRecord {
    /// Whether anyone knows who called.
    pub fn is_identified(&self) -> bool {
        self.contact_id.is_some() || self.organization_id.is_some()
    }
}

/// Builds the call from its legs; None until the primary (caller or customer) leg is known.
pub fn assemble(legs: &[Leg]) -> Option<CallRecord> {
    let primary = legs.iter().find(|l| l.role().is_primary())?;
    let agent_legs: Vec<&Leg> = legs.iter().filter(|l| l.role() == LegRole::Agent).collect();
    let talked: Vec<&&Leg> = agent_legs
        .iter()
        .filter(|l| l.is_answered_agent_leg())
        .collect();
    let kind = match (primary.role(), &primary.fax, &primary.queue) {
        (LegRole::Customer, _, _) => CallKind::Callback,
        (_, Some(_), _) => CallKind::Fax,
        (_, None, Some(_)) => CallKind::Queue,
        _ => CallKind::Direct,
    };
    let bridged =
        primary.bridged_to.is_some() && primary.bridged_ms.is_some() || !talked.is_empty();
    let outcome = match (kind, &primary.fax) {
        (_, Some(fax)) if fax.success => Outcome::Fax,
        (_, Some(_)) => Outcome::FaxFailed,
        _ if primary.voicemail => Outcome::Voicemail,
        _ if bridged => Outcome::Answered,
        (CallKind::Queue, _) if primary.enqueued => Outcome::Abandoned,
        _ => Outcome::Missed,
    };
    let answered_at = talked
        .iter()
        .filter_map(|l| l.bridged_ms.or(l.answered_ms))
        .min()
        .or(if bridged { primary.bridged_ms } else { None });
    let wait_until = answered_at.unwrap_or(primary.ended_ms);
    let talk_secs = if talked.is_empty() {
        primary.talk_secs()
    } else {
        // Summed before rounding: two legs of 2.4 s are 5 s, not 4.
        rounded_secs(
            talked
                .iter()
                .fold(0, |sum, l| sum.saturating_add(l.talk_ms())),
        )
    };
    let agent = talked
        .iter()
        .max_by_key(|l| l.bridged_ms.or(l.answered_ms))
        .and_then(|l| l.agent.clone());
    Some(CallRecord {
        id: primary.uuid.clone(),
        kind,
        outcome,
        caller_number: primary.caller_number.clone(),
        caller_e164: primary.caller_e164.clone(),
        caller_name: primary.caller_name.clone(),
        destination: primary.destination.clone(),
        queue: primary
            .queue
            .clone()
            .or_else(|| agent_legs.iter().find_map(|l| l.queue.clone())),
        agent,
        started_at: primary.started_ms,
        answered_at,
        ended_at: primary.ended_ms,
        wait_secs: ((wait_until - primary.started_ms).max(0)) / 1000,
        talk_secs,
        hangup_cause: primary.hangup_cause.clone(),
        recording: primary
            .recording
            .clone()
            .or_else(|| talked.iter().find_map(|l| l.recording.clone())),
        identified: primary
            .identified
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
        contact_id: primary.contact_id,
        organization_id: primary.organization_id,
        vip: primary.vip,
        ticket_id: None,
        rating: primary.rating,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::leg::LegFax;

    fn caller() -> Leg {
        Leg {
            uuid: "c".into(),
            call_id: "c".into(),
            role: Some(LegRole::Caller),
            caller_number: "+15550001".into(),
            queue: Some("support".into()),
            started_ms: 10_000,
            answered_ms: Some(10_000),
            ended_ms: 70_000,
            enqueued: true,
            ..Leg::default()
        }
    }

    fn agent(uuid: &str, name: &str, bridged: Option<Millis>) -> Leg {
        Leg {
            uuid: uuid.into(),
            call_id: "c".into(),
            role: Some(LegRole::Agent),
            agent: Some(name.into()),
            started_ms: 20_000,
            answered_ms: bridged,
            bridged_ms: bridged,
            bridged_to: bridged.map(|_| "c".to_owned()),
            ended_ms: 70_000,
            ..Leg::default()
        }
    }

    #[test]
    fn nothing_until_the_caller_leg_is_known() {
        assert!(assemble(&[agent("a", "alice", Some(25_000))]).is_none());
    }

    #[test]
    fn an_answered_call_takes_agent_wait_and_talk_from_the_agent_legs() {
        let mut c = caller();
        c.bridged_to = Some("a2".into());
        c.bridged_ms = Some(30_000);
        let legs = [
            c,
            agent("a1", "bob", None),
            agent("a2", "alice", Some(30_000)),
        ];
        let call = assemble(&legs).unwrap();
        assert_eq!(call.kind, CallKind::Queue);
        assert_eq!(call.outcome, Outcome::Answered);
        assert_eq!(call.agent.as_deref(), Some("alice"));
        assert_eq!(call.wait_secs, 20);
        assert_eq!(call.talk_secs, 40);
        assert_eq!(call.answered_at, Some(30_000));
    }

    #[test]
    fn talk_time_is_rounded_to_the_nearest_second_not_cut_down() {
        let mut c = caller();
        c.bridged_to = Some("a1".into());
        c.bridged_ms = Some(30_000);
        let mut short = agent("a1", "alice", Some(30_000));
        short.ended_ms = 35_960;
        let call = assemble(&[c.clone(), short.clone()]).unwrap();
        assert_eq!(call.talk_secs, 6, "5.96 s is 6 s");
        // Two legs of 2.4 s: 4.8 s in all, so 5, where rounding each would say 4.
        let mut first = agent("a1", "alice", Some(30_000));
        first.ended_ms = 32_400;
        let mut second = agent("a2", "bob", Some(40_000));
        second.ended_ms = 42_400;
        let call = assemble(&[c, first, second]).unwrap();
        assert_eq!(call.talk_secs, 5);
    }

    #[test]
    fn a_queued_caller_nobody_answered_abandoned_and_a_refused_one_is_missed() {
        let call = assemble(&[caller(), agent("a1", "bob", None)]).unwrap();
        assert_eq!(call.outcome, Outcome::Abandoned);
        assert_eq!(call.wait_secs, 60);
        let mut refused = caller();
        refused.enqueued = false;
        assert_eq!(assemble(&[refused]).unwrap().outcome, Outcome::Missed);
    }

    #[test]
    fn voicemail_and_fax_are_told_apart() {
        let mut vm = caller();
        vm.voicemail = true;
        assert_eq!(assemble(&[vm]).unwrap().outcome, Outcome::Voicemail);
        let mut fax = caller();
        fax.queue = None;
        fax.fax = Some(LegFax {
            success: false,
            ..LegFax::default()
        });
        let call = assemble(&[fax]).unwrap();
        assert_eq!(
            (call.kind, call.outcome),
            (CallKind::Fax, Outcome::FaxFailed)
        );
    }
}
