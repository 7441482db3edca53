//! One CDR read as a leg of a switchdesk call: which call it belongs to, its part in the call,
//! and the moments and facts the call record and the ticket rules need.
//!
//! The links come from the variables switchdesk itself puts on the legs it makes: an agent leg
//! is originated with `switchdesk_leg=agent` and `switchdesk_caller_uuid=<caller leg>`, a
//! callback's customer leg with `switchdesk_leg=customer`; the dialplan tags a support-line
//! caller with `switchdesk_queue`, and the queue engine stamps `switchdesk_enqueued_at` once the
//! caller really joined a queue (a refused caller never gets it). Pure: a [`Cdr`] in, a [`Leg`]
//! out.

use serde::{Deserialize, Serialize};

use super::Cdr;
use crate::clock::Millis;
use crate::switch::vars;

/// A leg's part in its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegRole {
    /// The caller's inbound leg: the call's own record (its UUID is the call's id).
    Caller,
    /// A leg switchdesk originated to an agent's phone, answered or not.
    Agent,
    /// A callback's leg to the customer: the call's own record for an outbound callback.
    Customer,
    /// Anything else FreeSWITCH reported (a loopback half, an internal call).
    Other,
}

impl LegRole {
    pub fn as_str(self) -> &'static str {
        match self {
            LegRole::Caller => "caller",
            LegRole::Agent => "agent",
            LegRole::Customer => "customer",
            LegRole::Other => "other",
        }
    }

    /// Whether a leg in this role is the one a call record is built around.
    pub fn is_primary(self) -> bool {
        matches!(self, LegRole::Caller | LegRole::Customer)
    }
}

/// What a fax leg reported (`fax_*` variables).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegFax {
    pub success: bool,
    pub pages: u32,
    pub result_text: String,
    pub remote_station: String,
}

/// The facts of one leg, small enough to keep next to its CDR and rebuild the call from.
/// Times are Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Leg {
    pub uuid: String,
    /// The caller (or customer) leg's UUID: the call this leg belongs to.
    pub call_id: String,
    pub role: Option<LegRole>,
    pub direction: String,
    pub caller_number: String,
    /// The caller's number in E.164, when the phone book reads it as one (set on ingest).
    pub caller_e164: Option<String>,
    pub caller_name: String,
    pub destination: String,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub started_ms: Millis,
    pub answered_ms: Option<Millis>,
    pub bridged_ms: Option<Millis>,
    pub ended_ms: Millis,
    pub hangup_cause: String,
    /// The leg it was bridged to, if it ever was.
    pub bridged_to: Option<String>,
    /// The queue engine took the caller in (`switchdesk_enqueued_at`).
    pub enqueued: bool,
    /// The caller reached voicemail (`switchdesk_voicemail`).
    pub voicemail: bool,
    pub recording: Option<String>,
    pub fax: Option<LegFax>,
    /// The switchboard's identification (`switchdesk_identified`): `exact`, `organization`,
    /// `name` or `unknown`; None when the switchboard never looked.
    pub identified: Option<String>,
    pub contact_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub vip: bool,
    /// The caller's rating from the survey after the call (`switchdesk_rating`, 1-5).
    pub rating: Option<u8>,
}

/// Milliseconds as whole seconds, rounded to the nearest (half a second up).
pub fn rounded_secs(ms: i64) -> i64 {
    (ms + 500).div_euclid(1000)
}

impl Leg {
    pub fn role(&self) -> LegRole {
        self.role.unwrap_or(LegRole::Other)
    }

    /// Milliseconds an agent (or the customer) talked on this leg: from the bridge (or the
    /// answer) to the end; 0 for a leg that was never bridged.
    pub fn talk_ms(&self) -> i64 {
        match (
            self.bridged_to.as_ref(),
            self.bridged_ms.or(self.answered_ms),
        ) {
            (Some(_), Some(from)) => (self.ended_ms - from).max(0),
            _ => 0,
        }
    }

    /// [`Leg::talk_ms`] in whole seconds, rounded to the nearest (5.96 s of talk is 6, not 5).
    pub fn talk_secs(&self) -> i64 {
        rounded_secs(self.talk_ms())
    }

    /// An agent leg the agent answered and talked on.
    pub fn is_answered_agent_leg(&self) -> bool {
        self.role() == LegRole::Agent && self.bridged_to.is_some() && self.answered_ms.is_some()
    }
}

/// The latest moment a CDR may carry: the last millisecond of the year 9999.
pub const LATEST_MS: Millis = 253_402_300_799_999;

/// A CDR moment as Unix ms: the microsecond stamp when FreeSWITCH wrote one, else the whole
/// seconds. The one place CDR times are read: a value outside 1970..=9999 (0 is FreeSWITCH's
/// "never happened"; anything else is a forged or broken CDR) counts as missing, so no later
/// difference, sum or cost can overflow.
pub fn moment_ms(micros: Option<i64>, secs: Option<i64>) -> Option<Millis> {
    let from_micros = micros
        .filter(|&us| us > 0 && us / 1000 <= LATEST_MS)
        .map(|us| us / 1000);
    from_micros.or_else(|| {
        secs.filter(|&s| s > 0 && s <= LATEST_MS / 1000)
            .map(|s| s * 1000)
    })
}

/// Reads the leg out of a CDR.
pub fn leg_of(cdr: &Cdr) -> Leg {
    let var = |name: &str| cdr.non_empty(name);
    let owned = |name: &str| var(name).map(str::to_owned);
    let ms = moment_ms;
    let fax = cdr.received_fax().map(|fax| LegFax {
        success: fax.success,
        pages: fax.transferred_pages.unwrap_or(0),
        result_text: fax.result_text.unwrap_or_default(),
        remote_station: fax.remote_station_id.unwrap_or_default(),
    });
    let role = match var(vars::LEG) {
        Some(vars::LEG_AGENT) => LegRole::Agent,
        Some(vars::LEG_CUSTOMER) => LegRole::Customer,
        _ if cdr.queue().is_some() || fax.is_some() => LegRole::Caller,
        _ if cdr.direction == "inbound" => LegRole::Caller,
        _ => LegRole::Other,
    };
    let call_id = match role {
        LegRole::Agent => var(vars::CALLER_UUID)
            .or_else(|| var("call_uuid"))
            .unwrap_or(&cdr.uuid)
            .to_owned(),
        _ => cdr.uuid.clone(),
    };
    let started_ms = ms(cdr.start_uepoch, cdr.start_epoch).unwrap_or(0);
    let ended_ms = ms(cdr.end_uepoch, cdr.end_epoch).unwrap_or(started_ms);
    let recording = owned(vars::RECORDING).or_else(|| {
        cdr.app_log
            .iter()
            .find(|app| matches!(app.app_name.as_str(), "record_session" | "record"))
            .and_then(|app| app.app_data.split_whitespace().next().map(str::to_owned))
    });
    Leg {
        uuid: cdr.uuid.clone(),
        call_id,
        role: Some(role),
        direction: cdr.direction.clone(),
        caller_number: first_non_empty(&[
            &cdr.caller.caller_id_number,
            var("caller_id_number").unwrap_or(""),
            &cdr.caller.ani,
        ]),
        caller_e164: None,
        caller_name: first_non_empty(&[
            &cdr.caller.caller_id_name,
            var("caller_id_name").unwrap_or(""),
        ]),
        destination: destination(cdr),
        queue: cdr
            .queue()
            .or_else(|| var(vars::QUEUE_NAME))
            .map(str::to_owned),
        agent: owned(vars::AGENT),
        started_ms,
        answered_ms: ms(cdr.answer_uepoch, cdr.answer_epoch),
        bridged_ms: moment_ms(
            var("bridge_uepoch").and_then(|v| v.trim().parse().ok()),
            None,
        ),
        ended_ms,
        hangup_cause: cdr.hangup_cause.clone().unwrap_or_default(),
        bridged_to: cdr.bleg_uuid().map(str::to_owned),
        enqueued: var(vars::ENQUEUED_AT).is_some(),
        voicemail: matches!(var(vars::VOICEMAIL), Some(v) if v != "false"),
        recording,
        fax,
        identified: owned(vars::IDENTIFIED),
        contact_id: var(vars::CONTACT_ID).and_then(|v| v.parse().ok()),
        organization_id: var(vars::ORGANIZATION_ID).and_then(|v| v.parse().ok()),
        vip: matches!(var(vars::VIP), Some("true")),
        rating: var(vars::RATING).and_then(vars::rating),
    }
}

/// The number the caller dialled: the first callflow's destination (a transfer to voicemail
/// writes a newer profile whose destination is `voicemail`), else the latest profile's.
fn destination(cdr: &Cdr) -> String {
    cdr.callflows
        .last()
        .map(|flow| flow.caller_profile.destination_number.clone())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| cdr.caller.destination_number.clone())
}

fn first_non_empty(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|c| !c.is_empty())
        .map(|c| (*c).to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cdr(vars: &[(&str, &str)]) -> Cdr {
        Cdr {
            uuid: "leg-1".into(),
            direction: "inbound".into(),
            variables: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            start_uepoch: Some(1_000_000_000),
            answer_uepoch: Some(1_001_000_000),
            end_uepoch: Some(1_031_000_000),
            ..Cdr::default()
        }
    }

    #[test]
    fn an_agent_leg_belongs_to_its_callers_call() {
        let leg = leg_of(&cdr(&[
            ("switchdesk_leg", "agent"),
            ("switchdesk_caller_uuid", "caller-9"),
            ("switchdesk_agent", "alice"),
            ("bridge_uuid", "caller-9"),
            ("bridge_uepoch", "1001500000"),
        ]));
        assert_eq!(leg.role(), LegRole::Agent);
        assert_eq!(leg.call_id, "caller-9");
        assert_eq!(leg.agent.as_deref(), Some("alice"));
        // 29.5 s from the bridge to the end: 30 whole seconds, never cut down to 29.
        assert_eq!(leg.talk_ms(), 29_500);
        assert_eq!(leg.talk_secs(), 30);
        assert!(leg.is_answered_agent_leg());
    }

    #[test]
    fn a_queue_caller_is_the_call_itself() {
        let leg = leg_of(&cdr(&[
            ("switchdesk_queue", "support"),
            ("switchdesk_enqueued_at", "1000000"),
            ("switchdesk_identified", "exact"),
            ("switchdesk_contact_id", "42"),
            ("switchdesk_vip", "true"),
        ]));
        assert_eq!(leg.role(), LegRole::Caller);
        assert_eq!(leg.call_id, "leg-1");
        assert!(leg.enqueued && leg.vip);
        assert_eq!(leg.contact_id, Some(42));
        assert_eq!(leg.talk_secs(), 0, "never bridged");
    }

    #[test]
    fn cdr_moments_outside_1970_to_9999_count_as_missing() {
        assert_eq!(moment_ms(Some(1_001_500_000), Some(1)), Some(1_001_500));
        assert_eq!(moment_ms(None, Some(1_001)), Some(1_001_000));
        assert_eq!(moment_ms(Some(0), Some(0)), None, "FreeSWITCH's never");
        assert_eq!(moment_ms(Some(i64::MAX), Some(i64::MAX)), None);
        assert_eq!(moment_ms(Some(-5), Some(i64::MIN)), None);
        assert_eq!(moment_ms(Some(i64::MAX), Some(7)), Some(7_000));
        // A forged CDR's talk time stays a plain, bounded number of seconds.
        let leg = leg_of(&cdr(&[
            ("switchdesk_leg", "agent"),
            ("switchdesk_caller_uuid", "c"),
            ("bridge_uuid", "c"),
            ("bridge_uepoch", "-9223372036854775808"),
        ]));
        assert!((0..=LATEST_MS / 1000).contains(&leg.talk_secs()));
    }

    #[test]
    fn an_unbridged_agent_leg_talked_for_nothing() {
        let leg = leg_of(&cdr(&[
            ("switchdesk_leg", "agent"),
            ("switchdesk_caller_uuid", "c"),
        ]));
        assert!(!leg.is_answered_agent_leg());
        assert_eq!(leg.talk_secs(), 0);
    }
}
