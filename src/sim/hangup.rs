//! Tearing a leg down the way FreeSWITCH does: CHANNEL_HANGUP, the running application's end
//! (playback stops with `PLAYBACK ERROR`, park is left), CS_HANGUP → CS_REPORTING, the
//! end-of-call variables, CHANNEL_HANGUP_COMPLETE, the CDR, CHANNEL_DESTROY; a bridged pair goes
//! down together in the captured order (UNBRIDGE on the A leg only). Also the hangup cause
//! table. It never decides *when* a leg hangs up.

use super::channel::{CallState, PrivateCommand, State};
use super::events::{origin, Vars};
use super::switch::{Output, Role, Switch};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Initiator {
    /// The far end hung up (BYE, CANCEL, or a failure response).
    Remote,
    /// The switch hung up (api, dialplan, timeout, the other leg of a bridge).
    Switch,
}

/// How a leg ends.
#[derive(Clone, Debug)]
pub(crate) struct End {
    pub(crate) cause: String,
    pub(crate) by: Initiator,
    /// A SIP failure response received on an outbound leg (486 Busy Here...).
    pub(crate) failure: Option<(u16, &'static str)>,
}

impl End {
    pub(crate) fn new(cause: &str, by: Initiator) -> End {
        End {
            cause: cause.to_owned(),
            by,
            failure: None,
        }
    }
}

/// What happens right after CHANNEL_HANGUP, before the application unwinds.
#[derive(Clone, Debug)]
pub(crate) enum Hook {
    /// A `sendmsg` hangup's PRIVATE_COMMAND.
    Private(PrivateCommand),
    /// The dialplan `hangup` application completing.
    AppComplete { app: String, app_uuid: String },
}

/// Hangup causes and their Q.850 codes (`switch_channel_cause2str` and friends).
const CAUSES: &[(&str, u32)] = &[
    ("UNALLOCATED_NUMBER", 1),
    ("NO_ROUTE_TRANSIT_NET", 2),
    ("NO_ROUTE_DESTINATION", 3),
    ("NORMAL_CLEARING", 16),
    ("USER_BUSY", 17),
    ("NO_USER_RESPONSE", 18),
    ("NO_ANSWER", 19),
    ("SUBSCRIBER_ABSENT", 20),
    ("CALL_REJECTED", 21),
    ("NUMBER_CHANGED", 22),
    ("DESTINATION_OUT_OF_ORDER", 27),
    ("INVALID_NUMBER_FORMAT", 28),
    ("NORMAL_UNSPECIFIED", 31),
    ("NORMAL_CIRCUIT_CONGESTION", 34),
    ("NETWORK_OUT_OF_ORDER", 38),
    ("NORMAL_TEMPORARY_FAILURE", 41),
    ("SWITCH_CONGESTION", 42),
    ("REQUESTED_CHAN_UNAVAIL", 44),
    ("BEARERCAPABILITY_NOTAVAIL", 58),
    ("CHAN_NOT_IMPLEMENTED", 66),
    ("INCOMPATIBLE_DESTINATION", 88),
    ("RECOVERY_ON_TIMER_EXPIRE", 102),
    ("ORIGINATOR_CANCEL", 487),
    ("LOSE_RACE", 502),
    ("MANAGER_REQUEST", 503),
    ("SYSTEM_SHUTDOWN", 503),
    ("ALLOTTED_TIMEOUT", 602),
    ("USER_NOT_REGISTERED", 606),
];

pub(crate) fn q850(cause: &str) -> u32 {
    CAUSES
        .iter()
        .find(|(name, _)| *name == cause)
        .map_or(0, |(_, code)| *code)
}

/// `switch_channel_str2cause`: a cause name (any case) or its number.
pub(crate) fn parse_cause(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if let Ok(code) = text.parse::<u32>() {
        return CAUSES.iter().find(|(_, c)| *c == code).map(|(n, _)| *n);
    }
    CAUSES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(n, _)| *n)
}

/// The SIP status sofia answers an unanswered inbound call with, for a cause.
fn refusal_status(cause: &str) -> u16 {
    match cause {
        "NO_ROUTE_DESTINATION" | "UNALLOCATED_NUMBER" => 404,
        "USER_BUSY" => 486,
        "CALL_REJECTED" => 603,
        "NORMAL_TEMPORARY_FAILURE" => 503,
        _ => 480,
    }
}

impl Switch {
    /// Hangs `uuid` up (and its bridge partner). A no-op on a leg already going down.
    pub(crate) fn hangup(&mut self, uuid: &str, end: End, hook: Option<Hook>) {
        let Some(chan) = self.chan(uuid) else { return };
        if chan.down {
            return;
        }
        let partner = chan.bridged_to.clone().filter(|p| self.live(p));
        match partner {
            Some(other) => self.hangup_bridged(uuid, &other, end, hook),
            None => {
                self.mark_down(uuid, &end);
                self.run_hook(uuid, hook);
                self.job_after_hangup(uuid);
                self.unwind(uuid);
                self.reach_reporting(uuid);
                self.complete(uuid);
            }
        }
    }

    /// Capture 02's order: HANGUP of both legs, the B leg to CS_REPORTING, UNBRIDGE on the A
    /// leg, the A leg to CS_REPORTING, then HANGUP_COMPLETE/DESTROY of A and of B.
    fn hangup_bridged(&mut self, first: &str, other: &str, end: End, hook: Option<Hook>) {
        let first_is_a = self.chan(first).is_some_and(|c| c.bridge_a);
        let (a, b) = if first_is_a {
            (first, other)
        } else {
            (other, first)
        };
        let cause = end.cause.clone();
        for (leg, role) in [(a, "A"), (b, "B")] {
            let other = if role == "A" { b } else { a };
            if let Some(c) = self.chan_mut(leg) {
                c.vars.set("last_bridge_to", other);
                if role == "A" {
                    c.vars.set("last_bridge_role", "originator");
                } else {
                    c.vars.set("last_bridge_hangup_cause", cause.clone());
                    c.vars
                        .set("last_bridge_proto_specific_hangup_cause", "sip:200");
                }
            }
        }
        self.mark_down(first, &end);
        self.run_hook(first, hook);
        self.mark_down(other, &End::new(&cause, Initiator::Switch));
        for leg in [a, b] {
            self.set_var(leg, "bridge_hangup_cause", cause.clone());
        }
        self.unwind(first);
        self.unwind(other);
        self.reach_reporting(b);
        if let Some(c) = self.chan_mut(a) {
            if let Some(disposition) = c.disposition.take() {
                c.vars.set("sip_hangup_disposition", disposition);
            }
        }
        self.bridge_event(a, b, "CHANNEL_UNBRIDGE", origin::UNBRIDGE);
        for leg in [a, b] {
            if let Some(c) = self.chan_mut(leg) {
                c.bridged_to = None;
            }
        }
        self.reach_reporting(a);
        self.complete(a);
        self.complete(b);
    }

    /// Marks the leg down and fires CHANNEL_HANGUP.
    fn mark_down(&mut self, uuid: &str, end: &End) {
        let now = self.micros();
        let Some(c) = self.chan_mut(uuid) else { return };
        c.down = true;
        c.hangup_cause = Some(end.cause.clone());
        c.state = State::Hangup;
        c.profile.times.hungup = now;
        let q = q850(&end.cause);
        let v = &mut c.vars;
        match (end.failure, end.by, c.answered) {
            (Some((status, phrase)), _, _) => {
                v.set("sip_hangup_disposition", "recv_refuse");
                v.set("sip_invite_failure_status", status.to_string());
                v.set("sip_invite_failure_phrase", phrase);
                v.set("sip_term_status", status.to_string());
                v.set("proto_specific_hangup_cause", format!("sip:{status}"));
                v.set("sip_term_cause", q.to_string());
            }
            (None, Initiator::Remote, true) => {
                v.set("sip_term_status", "200");
                v.set("proto_specific_hangup_cause", "sip:200");
                v.set("sip_term_cause", q.to_string());
                c.disposition = Some("recv_bye");
            }
            (None, Initiator::Remote, false) => {
                v.set("sip_term_status", "487");
                v.set("proto_specific_hangup_cause", "sip:487");
                v.set("sip_term_cause", q.to_string());
                c.disposition = Some("recv_cancel");
            }
            (None, Initiator::Switch, true) => {
                v.set("sip_hangup_phrase", "OK");
                c.disposition = Some("send_bye");
            }
            (None, Initiator::Switch, false) => {
                if c.direction == super::profile::Direction::Outbound {
                    c.disposition = Some("send_cancel");
                } else {
                    let status = refusal_status(&end.cause);
                    v.set("sip_term_status", status.to_string());
                    v.set("proto_specific_hangup_cause", format!("sip:{status}"));
                    c.disposition = Some("send_refuse");
                }
            }
        }
        self.fire(uuid, "CHANNEL_HANGUP", origin::HANGUP, Vars::With, &[], &[]);
    }

    fn run_hook(&mut self, uuid: &str, hook: Option<Hook>) {
        match hook {
            Some(Hook::Private(command)) => self.command_event(uuid, &command),
            Some(Hook::AppComplete { app, app_uuid }) => {
                self.execute_complete_event(uuid, &app, "", "_none_", &app_uuid)
            }
            None => {}
        }
    }

    /// An originate still ringing learns its fate as soon as the leg hangs up (capture 04c:
    /// BACKGROUND_JOB right after CHANNEL_HANGUP for NO_ANSWER).
    fn job_after_hangup(&mut self, uuid: &str) {
        let ringing = self
            .chan(uuid)
            .is_some_and(|c| c.callstate == CallState::Ringing);
        if ringing {
            self.finish_failed_job(uuid);
        }
    }

    fn finish_failed_job(&mut self, uuid: &str) {
        let cause = self
            .chan(uuid)
            .and_then(|c| c.hangup_cause.clone())
            .unwrap_or_default();
        let job = match self.roles.get_mut(uuid) {
            Some(Role::Agent(leg)) => leg.job.take(),
            _ => None,
        };
        if let Some(job) = job {
            self.finish_job(job, format!("-ERR {cause}\n"));
        }
    }

    /// The running application ends: a playback stops (`PLAYBACK ERROR`), queued commands are
    /// dropped, a park is left (UNPARK, EXECUTE_COMPLETE park with the leaked response).
    fn unwind(&mut self, uuid: &str) {
        if self.chan(uuid).is_some_and(|c| c.playing.is_some()) {
            self.finish_playback(uuid, "done", "PLAYBACK ERROR");
        }
        let Some(c) = self.chan_mut(uuid) else { return };
        c.queue.clear();
        if let Some(park_uuid) = c.park.take() {
            let response = c.last_response.clone();
            self.fire(uuid, "CHANNEL_UNPARK", origin::UNPARK, Vars::With, &[], &[]);
            self.execute_complete_event(uuid, "park", "", &response, &park_uuid);
        }
    }

    /// CS_HANGUP, the HANGUP call state, CS_REPORTING.
    fn reach_reporting(&mut self, uuid: &str) {
        if let Some(c) = self.chan_mut(uuid) {
            // sofia records how the dialog ended once the BYE/CANCEL exchange is done.
            if let Some(disposition) = c.disposition.take() {
                c.vars.set("sip_hangup_disposition", disposition);
            }
            let cause = c.hangup_cause.clone().unwrap_or_default();
            c.vars.set("hangup_cause", cause.clone());
            c.vars.set("hangup_cause_q850", q850(&cause).to_string());
        }
        self.set_state(uuid, State::Hangup, State::Hangup);
        self.set_callstate(uuid, CallState::Hangup);
        self.set_state(uuid, State::Reporting, State::Reporting);
    }

    /// HANGUP_COMPLETE, the CDR, a failed originate's result, DESTROY; the leg is gone.
    fn complete(&mut self, uuid: &str) {
        let Some(c) = self.chan_mut(uuid) else { return };
        c.set_timestamps();
        if c.media {
            for (name, value) in super::cdr::rtp_stats(c) {
                c.vars.set(name, value);
            }
        }
        let cause = c.hangup_cause.clone().unwrap_or_default();
        self.fire(
            uuid,
            "CHANNEL_HANGUP_COMPLETE",
            origin::HANGUP_COMPLETE,
            Vars::With,
            &[("Hangup-Cause", cause)],
            &[],
        );
        if self.cdr_enabled {
            if let Some(chan) = self.chan(uuid) {
                let b_leg = super::cdr::is_b_leg(chan);
                if !b_leg || self.cdr_b_legs {
                    let xml = super::cdr::document(&self.id, chan);
                    let query = if b_leg {
                        chan.uuid.clone()
                    } else {
                        format!("a_{}", chan.uuid)
                    };
                    self.push(Output::Cdr { query, xml });
                }
            }
        }
        self.finish_failed_job(uuid);
        if let Some(c) = self.chan_mut(uuid) {
            c.state = State::Destroy;
        }
        self.fire(
            uuid,
            "CHANNEL_DESTROY",
            origin::DESTROY,
            Vars::With,
            &[],
            &[],
        );
        self.set_state(uuid, State::Destroy, State::Destroy);
        self.channels.retain(|c| c.uuid != uuid);
        self.roles.remove(uuid);
    }
}
