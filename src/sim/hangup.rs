//! Tearing a leg down the way FreeSWITCH does: CHANNEL_HANGUP, the running application's end
//! (playback stops with `PLAYBACK ERROR`, park is left), CS_HANGUP → CS_REPORTING, the
//! end-of-call variables, CHANNEL_HANGUP_COMPLETE, the CDR, CHANNEL_DESTROY; a bridged pair goes
//! down together in the captured order (UNBRIDGE on the A leg only). Also the hangup cause
//! table. It never decides *when* a leg hangs up.

use super::channel::{CallState, PrivateCommand, State};
use super::events::{origin, Vars};
use super::switch::{Output, Role, Switch, Timer};

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
    /// The `hangup` application completing (a private command running it ends after).
    AppComplete {
        app: String,
        data: String,
        app_uuid: String,
    },
}

/// `switch_call_cause_t`: the names `switch_channel_str2cause` knows and their values.
const CAUSES: &[(&str, u32)] = &[
    ("NONE", 0),
    ("UNALLOCATED_NUMBER", 1),
    ("NO_ROUTE_TRANSIT_NET", 2),
    ("NO_ROUTE_DESTINATION", 3),
    ("CHANNEL_UNACCEPTABLE", 6),
    ("CALL_AWARDED_DELIVERED", 7),
    ("NORMAL_CLEARING", 16),
    ("USER_BUSY", 17),
    ("NO_USER_RESPONSE", 18),
    ("NO_ANSWER", 19),
    ("SUBSCRIBER_ABSENT", 20),
    ("CALL_REJECTED", 21),
    ("NUMBER_CHANGED", 22),
    ("REDIRECTION_TO_NEW_DESTINATION", 23),
    ("EXCHANGE_ROUTING_ERROR", 25),
    ("DESTINATION_OUT_OF_ORDER", 27),
    ("INVALID_NUMBER_FORMAT", 28),
    ("FACILITY_REJECTED", 29),
    ("RESPONSE_TO_STATUS_ENQUIRY", 30),
    ("NORMAL_UNSPECIFIED", 31),
    ("NORMAL_CIRCUIT_CONGESTION", 34),
    ("NETWORK_OUT_OF_ORDER", 38),
    ("NORMAL_TEMPORARY_FAILURE", 41),
    ("SWITCH_CONGESTION", 42),
    ("ACCESS_INFO_DISCARDED", 43),
    ("REQUESTED_CHAN_UNAVAIL", 44),
    ("PRE_EMPTED", 45),
    ("FACILITY_NOT_SUBSCRIBED", 50),
    ("OUTGOING_CALL_BARRED", 52),
    ("INCOMING_CALL_BARRED", 54),
    ("BEARERCAPABILITY_NOTAUTH", 57),
    ("BEARERCAPABILITY_NOTAVAIL", 58),
    ("SERVICE_UNAVAILABLE", 63),
    ("BEARERCAPABILITY_NOTIMPL", 65),
    ("CHAN_NOT_IMPLEMENTED", 66),
    ("FACILITY_NOT_IMPLEMENTED", 69),
    ("SERVICE_NOT_IMPLEMENTED", 79),
    ("INVALID_CALL_REFERENCE", 81),
    ("INCOMPATIBLE_DESTINATION", 88),
    ("INVALID_MSG_UNSPECIFIED", 95),
    ("MANDATORY_IE_MISSING", 96),
    ("MESSAGE_TYPE_NONEXIST", 97),
    ("WRONG_MESSAGE", 98),
    ("IE_NONEXIST", 99),
    ("INVALID_IE_CONTENTS", 100),
    ("WRONG_CALL_STATE", 101),
    ("RECOVERY_ON_TIMER_EXPIRE", 102),
    ("MANDATORY_IE_LENGTH_ERROR", 103),
    ("PROTOCOL_ERROR", 111),
    ("INTERWORKING", 127),
    ("SUCCESS", 142),
    ("ORIGINATOR_CANCEL", 487),
    ("CRASH", 700),
    ("SYSTEM_SHUTDOWN", 701),
    ("LOSE_RACE", 702),
    ("MANAGER_REQUEST", 703),
    ("BLIND_TRANSFER", 800),
    ("ATTENDED_TRANSFER", 801),
    ("ALLOTTED_TIMEOUT", 802),
    ("USER_CHALLENGE", 803),
    ("MEDIA_TIMEOUT", 804),
    ("PICKED_OFF", 805),
    ("USER_NOT_REGISTERED", 806),
    ("PROGRESS_TIMEOUT", 807),
    ("INVALID_GATEWAY", 808),
    ("GATEWAY_DOWN", 809),
    ("INVALID_URL", 810),
    ("INVALID_PROFILE", 811),
    ("NO_PICKUP", 812),
    ("SRTP_READ_ERROR", 813),
    ("BOWOUT", 814),
    ("BUSY_EVERYWHERE", 815),
    ("DECLINE", 816),
    ("DOES_NOT_EXIST_ANYWHERE", 817),
    ("NOT_ACCEPTABLE", 818),
    ("UNWANTED", 819),
    ("NO_IDENTITY", 820),
    ("BAD_IDENTITY_INFO", 821),
    ("UNSUPPORTED_CERTIFICATE", 822),
    ("INVALID_IDENTITY", 823),
    ("STALE_DATE", 824),
    ("REJECT_ALL", 825),
];

/// `switch_channel_cause_q850`: the cause's value, or NORMAL_CLEARING (16) for FreeSWITCH's
/// own causes above 127.
pub(crate) fn q850(cause: &str) -> u32 {
    let value = CAUSES
        .iter()
        .find(|(name, _)| *name == cause)
        .map_or(0, |(_, code)| *code);
    if value <= 127 {
        value
    } else {
        16
    }
}

/// `switch_channel_str2cause`: a cause name (any case) or its number; `None` for text it does
/// not know (FreeSWITCH then uses NORMAL_CLEARING).
pub(crate) fn parse_cause(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        let code = u32::try_from(super::apps::atoi(text)).ok()?;
        return CAUSES
            .iter()
            .find(|(_, c)| *c == code && *c != 0)
            .map(|(n, _)| *n);
    }
    CAUSES
        .iter()
        .find(|(name, c)| *c != 0 && name.eq_ignore_ascii_case(text))
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
        if let Some(caller) = self.bridge_app_caller(uuid) {
            if partner.as_deref() == Some(caller.as_str()) {
                return self.bridge_app_leg_hung_up(uuid, &caller, end);
            }
            // Never joined: the caller's application learns the leg's cause after its hangup.
            self.bridge_apps.remove(&caller);
            let cause = end.cause.clone();
            self.hangup(uuid, end, hook);
            return self.bridge_app_leg_failed(&caller, &cause);
        }
        match &partner {
            Some(other) => self.hangup_bridged(uuid, other, end, hook),
            None => {
                self.mark_down(uuid, &end);
                self.run_hook(uuid, hook);
                self.job_after_hangup(uuid);
                self.unwind(uuid);
                self.reach_reporting(uuid);
                self.report(uuid);
            }
        }
        self.end_eavesdrops(uuid);
        if let Some(other) = partner {
            self.end_eavesdrops(&other);
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
        self.report(a);
        self.report(b);
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
            Some(Hook::AppComplete {
                app,
                data,
                app_uuid,
            }) => {
                self.execute_complete_event(uuid, &app, &data, "_none_", &app_uuid);
                // The private command that ran `hangup` ends with it.
                self.end_command(uuid);
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

    /// The running application ends: a playback stops (`PLAYBACK ERROR`) and its private
    /// command with it, queued commands and a pending transfer are dropped, a park is left
    /// (UNPARK, EXECUTE_COMPLETE park with the leaked response).
    fn unwind(&mut self, uuid: &str) {
        self.interrupt(uuid);
        let Some(c) = self.chan_mut(uuid) else { return };
        c.queue.clear();
        c.transfer = None;
        self.leave_park(uuid);
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

    /// The reporting handlers run, for `reporting_linger`, then the leg completes.
    fn report(&mut self, uuid: &str) {
        if self.reporting_linger.is_zero() {
            self.complete(uuid);
        } else {
            self.schedule(self.reporting_linger, Timer::Reported(uuid.to_owned()));
        }
    }

    /// HANGUP_COMPLETE, the CDR, a failed originate's result, DESTROY; the leg is gone.
    pub(crate) fn complete(&mut self, uuid: &str) {
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
        self.remove_channel(uuid);
    }
}
