//! One call leg as the switch core sees it: its state-machine position, call state, answer
//! state, codec, caller profiles (current and past), variables and application log. Owns the
//! channel-data header block every channel event carries and the end-of-call timestamp variables
//! (`switch_channel_set_timestamps`). It never emits events or schedules anything itself.

use std::collections::VecDeque;

use super::clock::{self, Micros};
use super::events::Headers;
use super::profile::{CallerProfile, Direction};
use super::vars::Vars;

/// `switch_channel_state_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    New,
    Init,
    Routing,
    SoftExecute,
    Execute,
    ExchangeMedia,
    ConsumeMedia,
    Hibernate,
    Reset,
    Hangup,
    Reporting,
    Destroy,
    None,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::New => "CS_NEW",
            State::Init => "CS_INIT",
            State::Routing => "CS_ROUTING",
            State::SoftExecute => "CS_SOFT_EXECUTE",
            State::Execute => "CS_EXECUTE",
            State::ExchangeMedia => "CS_EXCHANGE_MEDIA",
            State::ConsumeMedia => "CS_CONSUME_MEDIA",
            State::Hibernate => "CS_HIBERNATE",
            State::Reset => "CS_RESET",
            State::Hangup => "CS_HANGUP",
            State::Reporting => "CS_REPORTING",
            State::Destroy => "CS_DESTROY",
            State::None => "CS_NONE",
        }
    }

    pub(crate) fn number(self) -> u32 {
        match self {
            State::New => 0,
            State::Init => 1,
            State::Routing => 2,
            State::SoftExecute => 3,
            State::Execute => 4,
            State::ExchangeMedia => 5,
            State::ConsumeMedia => 7,
            State::Hibernate => 8,
            State::Reset => 9,
            State::Hangup => 10,
            State::Reporting => 11,
            State::Destroy => 12,
            State::None => 13,
        }
    }
}

/// `switch_channel_callstate_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallState {
    Down,
    Ringing,
    Early,
    Active,
    Hangup,
}

impl CallState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CallState::Down => "DOWN",
            CallState::Ringing => "RINGING",
            CallState::Early => "EARLY",
            CallState::Active => "ACTIVE",
            CallState::Hangup => "HANGUP",
        }
    }

    pub(crate) fn number(self) -> u32 {
        match self {
            CallState::Down => 0,
            CallState::Ringing => 2,
            CallState::Early => 3,
            CallState::Active => 4,
            CallState::Hangup => 7,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Codec {
    pub(crate) name: &'static str,
    pub(crate) rate: u32,
    pub(crate) bit_rate: u32,
}

pub(crate) const PCMU: Codec = Codec {
    name: "PCMU",
    rate: 8000,
    bit_rate: 64000,
};
pub(crate) const L16: Codec = Codec {
    name: "L16",
    rate: 8000,
    bit_rate: 128000,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OtherType {
    Originator,
    Originatee,
}

impl OtherType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OtherType::Originator => "originator",
            OtherType::Originatee => "originatee",
        }
    }
}

/// The dialplan extension a profile ran, for the CDR's `<callflow>`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extension {
    pub(crate) name: String,
    pub(crate) number: String,
    pub(crate) apps: Vec<(String, String)>,
}

/// A caller profile with the bookkeeping mod_xml_cdr prints around it.
#[derive(Clone, Debug)]
pub(crate) struct Callflow {
    pub(crate) profile: CallerProfile,
    pub(crate) unique_id: String,
    pub(crate) clone_of: Option<String>,
    pub(crate) dialplan: Option<String>,
    pub(crate) extension: Option<Extension>,
    pub(crate) relative: Option<(OtherType, CallerProfile)>,
}

#[derive(Clone, Debug)]
pub(crate) struct AppLogEntry {
    pub(crate) app: String,
    pub(crate) data: String,
    pub(crate) stamp: Micros,
}

/// A private event queued on the channel (`uuid_broadcast`, `sendmsg`): an application to
/// execute, or a hangup.
#[derive(Clone, Debug)]
pub(crate) struct PrivateCommand {
    pub(crate) app: String,
    pub(crate) arg: String,
    /// `event-uuid` from a `sendmsg`; otherwise the switch picks one per execution.
    pub(crate) app_uuid: Option<String>,
    /// `event-uuid-name` (`Application-UUID-Name`).
    pub(crate) app_uuid_name: Option<String>,
    /// The `loops` header: how often the application runs (`-1`: until stopped).
    pub(crate) loops: i64,
    /// Headers delivered ahead of the PRIVATE_COMMAND set: the whole COMMAND event of a
    /// broadcast, or the `sendmsg` block as the client sent it.
    pub(crate) lead: Headers,
    pub(crate) body: Option<String>,
    /// `hangup` call-command rather than an application.
    pub(crate) hangup_cause: Option<String>,
}

/// The private command `switch_ivr_parse_event` is executing: its `loops` iterations.
#[derive(Clone, Debug)]
pub(crate) struct ActiveCommand {
    pub(crate) command: PrivateCommand,
    /// Iterations started so far.
    pub(crate) started: i64,
    /// `uuid_break` stopped the broadcast (CF_STOP_BROADCAST): no further iteration.
    pub(crate) stopped: bool,
}

/// An application that takes time (playback, say, sleep), running on the leg.
#[derive(Clone, Debug)]
pub(crate) struct Running {
    pub(crate) app: String,
    pub(crate) arg: String,
    pub(crate) app_uuid: String,
    /// The file PLAYBACK_START announced (playback, say); PLAYBACK_STOP closes it.
    pub(crate) file: Option<String>,
    pub(crate) started: Micros,
    pub(crate) token: u64,
    /// It runs for the private command in `Channel::command` (CF_BROADCAST), not for the
    /// dialplan.
    pub(crate) broadcast: bool,
}

/// Where a transfer sends the leg (`switch_ivr_session_transfer`).
#[derive(Clone, Debug)]
pub(crate) struct TransferTarget {
    pub(crate) extension: String,
    pub(crate) dialplan: String,
    pub(crate) context: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) uuid: String,
    pub(crate) name: String,
    pub(crate) direction: Direction,
    pub(crate) hit_dialplan: bool,
    /// `Channel-State` (the running state) and `Channel-State-Number` (the requested state).
    pub(crate) running: State,
    pub(crate) state: State,
    pub(crate) callstate: CallState,
    pub(crate) answered: bool,
    pub(crate) early: bool,
    pub(crate) down: bool,
    pub(crate) hangup_cause: Option<String>,
    pub(crate) codec: Option<Codec>,
    pub(crate) profile_set: bool,
    pub(crate) profile: CallerProfile,
    pub(crate) flow: Callflow,
    pub(crate) history: Vec<Callflow>,
    pub(crate) other: Option<(OtherType, CallerProfile)>,
    pub(crate) vars: Vars,
    pub(crate) app_log: Vec<AppLogEntry>,
    /// The app UUID of a running `park`.
    pub(crate) park: Option<String>,
    /// The private command being executed and the timed application running now.
    pub(crate) command: Option<ActiveCommand>,
    pub(crate) timed: Option<Running>,
    /// Private events waiting their turn (event-locked: one at a time).
    pub(crate) queue: VecDeque<PrivateCommand>,
    /// The dialplan applications of the current extension not yet executed.
    pub(crate) pending_apps: VecDeque<(String, String)>,
    /// A transfer waiting for the running application and park to unwind.
    pub(crate) transfer: Option<TransferTarget>,
    /// The leg is being moved (uuid_bridge): not ready for applications (CF_TRANSFER).
    pub(crate) redirecting: bool,
    /// `pump` is running the queue: a command finishing inside it leaves the next one to it
    /// (no recursion however many instant commands a client queues).
    pub(crate) pumping: bool,
    /// `current_application_response` as the last application left it; FreeSWITCH clears it
    /// when an application starts and leaks it into park's EXECUTE_COMPLETE.
    pub(crate) last_response: String,
    /// `Application-UUID-Name` of the application executing now (`event-uuid-name`).
    pub(crate) app_uuid_name: Option<String>,
    /// The core database's `application` / `application_data` columns: the last
    /// CHANNEL_EXECUTE.
    pub(crate) last_execute: (String, String),
    /// Creation order among all channels (for `show channels` and `channels()`).
    pub(crate) order: u64,
    pub(crate) bridged_to: Option<String>,
    /// This leg is the A leg (first uuid) of its bridge.
    pub(crate) bridge_a: bool,
    pub(crate) dtmf_log: String,
    /// The `play_and_get_digits` running (with `timed`), where it is.
    pub(crate) reading: Option<super::read::Reading>,
    pub(crate) media: bool,
    /// `sip_hangup_disposition`, written when the leg reaches CS_HANGUP.
    pub(crate) disposition: Option<&'static str>,
}

impl Channel {
    pub(crate) fn new(
        uuid: String,
        name: String,
        direction: Direction,
        flow_id: String,
    ) -> Channel {
        let profile = CallerProfile::new(direction, &uuid, &name);
        Channel {
            flow: Callflow {
                profile: profile.clone(),
                unique_id: flow_id,
                clone_of: None,
                dialplan: None,
                extension: None,
                relative: None,
            },
            uuid,
            name,
            direction,
            hit_dialplan: direction == Direction::Inbound,
            running: State::New,
            state: State::New,
            callstate: CallState::Down,
            answered: false,
            early: false,
            down: false,
            hangup_cause: None,
            codec: None,
            profile_set: false,
            profile,
            history: Vec::new(),
            other: None,
            vars: Vars::default(),
            app_log: Vec::new(),
            park: None,
            command: None,
            timed: None,
            queue: VecDeque::new(),
            pending_apps: VecDeque::new(),
            transfer: None,
            redirecting: false,
            pumping: false,
            last_response: "_none_".into(),
            app_uuid_name: None,
            last_execute: (String::new(), String::new()),
            order: 0,
            bridged_to: None,
            bridge_a: false,
            dtmf_log: String::new(),
            reading: None,
            media: false,
            disposition: None,
        }
    }

    pub(crate) fn answer_state(&self) -> &'static str {
        if self.down {
            "hangup"
        } else if self.answered {
            "answered"
        } else if self.early {
            "early"
        } else {
            "ringing"
        }
    }

    /// `switch_channel_event_set_basic_data`: state, identity, answer state, codec, profiles.
    pub(crate) fn push_basic(&self, out: &mut Headers) {
        out.push("Channel-State", self.running.name());
        out.push("Channel-Call-State", self.callstate.name());
        out.push_fmt(
            "",
            "Channel-State-Number",
            format_args!("{}", self.state.number()),
        );
        out.push("Channel-Name", &self.name);
        out.push("Unique-ID", &self.uuid);
        out.push("Call-Direction", self.direction.as_str());
        out.push("Presence-Call-Direction", self.direction.as_str());
        out.push(
            "Channel-HIT-Dialplan",
            if self.hit_dialplan { "true" } else { "false" },
        );
        for (var, header) in [
            ("presence_id", "Channel-Presence-ID"),
            ("presence_data", "Channel-Presence-Data"),
        ] {
            if let Some(value) = self.vars.get(var) {
                out.push(header, value);
            }
        }
        out.push(
            "Channel-Call-UUID",
            self.vars.get("call_uuid").unwrap_or(&self.uuid),
        );
        out.push("Answer-State", self.answer_state());
        if let Some(cause) = &self.hangup_cause {
            out.push("Hangup-Cause", cause);
        }
        if let Some(codec) = self.codec {
            for (name, rate, bit_rate) in [
                (
                    "Channel-Read-Codec-Name",
                    "Channel-Read-Codec-Rate",
                    "Channel-Read-Codec-Bit-Rate",
                ),
                (
                    "Channel-Write-Codec-Name",
                    "Channel-Write-Codec-Rate",
                    "Channel-Write-Codec-Bit-Rate",
                ),
            ] {
                out.push(name, codec.name);
                out.push_fmt("", rate, format_args!("{}", codec.rate));
                out.push_fmt("", bit_rate, format_args!("{}", codec.bit_rate));
            }
        }
        if self.profile_set {
            self.profile.push_headers("Caller", out);
            if let Some((kind, other)) = &self.other {
                out.push("Other-Type", kind.as_str());
                other.push_headers("Other-Leg", out);
            }
        }
    }

    pub(crate) fn push_vars(&self, out: &mut Headers) {
        for (n, v) in self.vars.iter() {
            out.push_prefixed("variable_", n, v);
        }
    }

    pub(crate) fn log_app(&mut self, app: &str, data: &str, stamp: Micros) {
        self.app_log.push(AppLogEntry {
            app: app.to_owned(),
            data: data.to_owned(),
            stamp,
        });
    }

    /// `switch_channel_set_timestamps`: the `*_stamp`, `*_epoch`, `duration`, `billsec`...
    /// variables written once when the leg reaches CS_REPORTING.
    pub(crate) fn set_timestamps(&mut self) {
        let t = self.profile.times;
        let v = &mut self.vars;
        v.set(
            "digits_dialed",
            if self.dtmf_log.is_empty() {
                "none".to_owned()
            } else {
                self.dtmf_log.clone()
            },
        );
        v.set("start_stamp", clock::local(t.created));
        v.set("profile_start_stamp", clock::local(t.profile_created));
        for (name, at) in [
            ("answer_stamp", t.answered),
            ("bridge_stamp", t.bridged),
            ("hold_stamp", t.last_hold),
            ("resurrect_stamp", t.resurrected),
            ("progress_stamp", t.progress),
            ("progress_media_stamp", t.progress_media),
        ] {
            if at != 0 {
                v.set(name, clock::local(at));
            }
        }
        v.set("end_stamp", clock::local(t.hungup));
        let pairs = [
            ("start", t.created),
            ("profile_start", t.profile_created),
            ("answer", t.answered),
            ("bridge", t.bridged),
            ("last_hold", t.last_hold),
        ];
        for (name, at) in pairs {
            v.set(&format!("{name}_epoch"), clock::epoch_secs(at).to_string());
            v.set(&format!("{name}_uepoch"), at.to_string());
        }
        v.set("hold_accum_seconds", (t.hold_accum / 1_000_000).to_string());
        v.set("hold_accum_usec", t.hold_accum.to_string());
        v.set("hold_accum_ms", (t.hold_accum / 1000).to_string());
        for (name, at) in [
            ("resurrect", t.resurrected),
            ("progress", t.progress),
            ("progress_media", t.progress_media),
            ("end", t.hungup),
        ] {
            v.set(&format!("{name}_epoch"), clock::epoch_secs(at).to_string());
            v.set(&format!("{name}_uepoch"), at.to_string());
        }

        let secs = |a: Micros, b: Micros| clock::epoch_secs(a) - clock::epoch_secs(b);
        let millis = |a: Micros, b: Micros| a / 1000 - b / 1000;
        let (created, hungup) = (t.created, t.hungup);
        let duration = (
            secs(hungup, created),
            millis(hungup, created),
            hungup - created,
        );
        let wait = if t.bridged > created {
            (
                secs(t.bridged, created),
                millis(t.bridged, created),
                t.bridged - created,
            )
        } else {
            (0, 0, 0)
        };
        let (bill, legbill, answer) = if t.answered != 0 {
            (
                (
                    secs(hungup, t.answered),
                    millis(hungup, t.answered),
                    hungup - t.answered,
                ),
                duration,
                (
                    secs(t.answered, created),
                    millis(t.answered, created),
                    t.answered - created,
                ),
            )
        } else {
            ((0, 0, 0), (0, 0, 0), (0, 0, 0))
        };
        let since_created = |at: Micros| {
            if at != 0 {
                (secs(at, created), millis(at, created), at - created)
            } else {
                (0, 0, 0)
            }
        };
        let progress = since_created(t.progress);
        let progress_media = since_created(t.progress_media);

        if let Some(last) = self.app_log.last() {
            v.set("last_app", last.app.clone());
            v.set("last_arg", last.data.clone());
        }
        let cid = if self.profile.caller_id_name.is_empty() {
            self.profile.caller_id_number.clone()
        } else {
            format!(
                "\"{}\" <{}>",
                self.profile.caller_id_name, self.profile.caller_id_number
            )
        };
        v.set("caller_id", cid);
        for (suffix, pick) in [("sec", 0usize), ("msec", 1), ("usec", 2)] {
            let get = |triple: (i64, i64, i64)| match pick {
                0 => triple.0,
                1 => triple.1,
                _ => triple.2,
            };
            let dur_name = match suffix {
                "sec" => "duration",
                "msec" => "mduration",
                _ => "uduration",
            };
            v.set(dur_name, get(duration).to_string());
            v.set(&format!("bill{suffix}"), get(bill).to_string());
            v.set(&format!("progress{suffix}"), get(progress).to_string());
            v.set(&format!("answer{suffix}"), get(answer).to_string());
            v.set(&format!("wait{suffix}"), get(wait).to_string());
            v.set(
                &format!("progress_media{suffix}"),
                get(progress_media).to_string(),
            );
            v.set(&format!("flow_bill{suffix}"), get(legbill).to_string());
        }
    }
}
