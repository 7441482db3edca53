//! Events as the switch fires them: an ordered list of decoded `(name, value)` headers and an
//! optional body, built in FreeSWITCH's order (core headers, event-specific headers, channel
//! data, caller profile, `variable_*`). Encoding to plain/json/xml is `esl::wire`'s job; this
//! module only caches one encoding per format so a fan-out to many listeners encodes once.

use std::sync::OnceLock;

use crate::esl::event::EventFormat;
use crate::esl::wire;

use super::channel::Channel;
use super::clock::{self, Micros};

/// Who the switch says it is in every event.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub(crate) core_uuid: String,
    pub(crate) hostname: String,
    pub(crate) ipv4: String,
    pub(crate) ipv6: String,
}

/// Where FreeSWITCH's source fired an event (`Event-Calling-*`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin(
    pub(crate) &'static str,
    pub(crate) &'static str,
    pub(crate) u32,
);

pub(crate) mod origin {
    use super::Origin;
    pub(crate) const STATE: Origin = Origin(
        "switch_channel.c",
        "switch_channel_perform_set_running_state",
        2408,
    );
    pub(crate) const CALLSTATE: Origin = Origin(
        "switch_channel.c",
        "switch_channel_perform_set_callstate",
        301,
    );
    pub(crate) const CREATE: Origin = Origin(
        "switch_core_state_machine.c",
        "switch_core_session_run",
        626,
    );
    pub(crate) const ORIGINATE: Origin = Origin(
        "switch_core_state_machine.c",
        "switch_core_session_run",
        632,
    );
    pub(crate) const OUTGOING: Origin = Origin(
        "switch_core_session.c",
        "switch_core_session_outgoing_channel",
        768,
    );
    pub(crate) const EXECUTE: Origin =
        Origin("switch_core_session.c", "switch_core_session_exec", 2944);
    pub(crate) const EXECUTE_COMPLETE: Origin =
        Origin("switch_core_session.c", "switch_core_session_exec", 2967);
    pub(crate) const API: Origin = Origin("switch_loadable_module.c", "switch_api_execute", 2954);
    pub(crate) const PROGRESS: Origin = Origin(
        "switch_channel.c",
        "switch_channel_perform_mark_ring_ready_value",
        3505,
    );
    pub(crate) const PROGRESS_MEDIA: Origin = Origin(
        "switch_channel.c",
        "switch_channel_perform_mark_pre_answered",
        3560,
    );
    pub(crate) const ANSWER: Origin = Origin(
        "switch_channel.c",
        "switch_channel_perform_mark_answered",
        3846,
    );
    pub(crate) const CODEC_READ: Origin = Origin(
        "switch_core_codec.c",
        "switch_core_session_set_real_read_codec",
        168,
    );
    pub(crate) const CODEC_WRITE: Origin = Origin(
        "switch_core_codec.c",
        "switch_core_session_set_write_codec",
        450,
    );
    pub(crate) const PARK: Origin = Origin("switch_ivr.c", "switch_ivr_park", 1002);
    pub(crate) const UNPARK: Origin = Origin("switch_ivr.c", "switch_ivr_park", 1213);
    pub(crate) const PLAYBACK_START: Origin =
        Origin("switch_ivr_play_say.c", "switch_ivr_play_file", 1646);
    pub(crate) const PLAYBACK_STOP: Origin =
        Origin("switch_ivr_play_say.c", "switch_ivr_play_file", 2020);
    pub(crate) const COMMAND: Origin = Origin("switch_ivr_async.c", "switch_ivr_broadcast", 5731);
    pub(crate) const PRIVATE_COMMAND: Origin =
        Origin("switch_ivr.c", "switch_ivr_parse_next_event", 804);
    pub(crate) const CALL_UPDATE_FLIP: Origin =
        Origin("switch_channel.c", "switch_channel_flip_cid", 3277);
    pub(crate) const CALL_UPDATE_SOFIA: Origin =
        Origin("mod_sofia.c", "sofia_receive_message", 2100);
    pub(crate) const BRIDGE: Origin = Origin(
        "switch_ivr_bridge.c",
        "switch_ivr_multi_threaded_bridge",
        1689,
    );
    pub(crate) const UNBRIDGE: Origin = Origin(
        "switch_ivr_bridge.c",
        "switch_ivr_multi_threaded_bridge",
        1879,
    );
    pub(crate) const UUID_BRIDGE_A: Origin =
        Origin("switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", 1236);
    pub(crate) const UUID_BRIDGE_B: Origin =
        Origin("switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", 1243);
    pub(crate) const HANGUP: Origin =
        Origin("switch_channel.c", "switch_channel_perform_hangup", 3445);
    pub(crate) const HANGUP_COMPLETE: Origin = Origin(
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    );
    pub(crate) const DESTROY: Origin = Origin(
        "switch_core_session.c",
        "switch_core_session_perform_destroy",
        1584,
    );
    pub(crate) const BACKGROUND_JOB: Origin = Origin("mod_event_socket.c", "api_exec", 1572);
    pub(crate) const HEARTBEAT: Origin = Origin("switch_core.c", "send_heartbeat", 95);
    pub(crate) const RE_SCHEDULE: Origin =
        Origin("switch_scheduler.c", "switch_scheduler_execute", 73);
    pub(crate) const DTMF: Origin = Origin("switch_channel.c", "switch_channel_dequeue_dtmf", 677);
    pub(crate) const CHANNEL_DATA: Origin = Origin("mod_commands.c", "uuid_dump_function", 6468);
    pub(crate) const FAX_NEGOTIATED: Origin = Origin("mod_spandsp_fax.c", "phase_b_handler", 386);
    pub(crate) const FAX_PAGE: Origin = Origin("mod_spandsp_fax.c", "phase_d_handler", 521);
    pub(crate) const FAX_RESULT: Origin = Origin("mod_spandsp_fax.c", "phase_e_handler", 676);
}

/// An event's decoded headers in wire order, kept in one text buffer: an event carries about
/// two hundred headers, and one allocation for all of them (rather than two per header) is
/// what lets the switch fire tens of thousands of events a second. FreeSWITCH serializes no
/// header whose value is empty, so none is kept.
#[derive(Clone, Debug, Default)]
pub(crate) struct Headers {
    text: String,
    /// (name start, value start, value end) in `text`.
    spans: Vec<(usize, usize, usize)>,
}

impl Headers {
    pub(crate) fn with_capacity(count: usize) -> Headers {
        Headers {
            text: String::with_capacity(count * 48),
            spans: Vec::with_capacity(count),
        }
    }

    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.push_prefixed("", name, value);
    }

    /// Appends a header named `prefix` + `name` (`variable_` + a variable, `Caller-` + ...).
    pub(crate) fn push_prefixed(&mut self, prefix: &str, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(prefix);
        self.text.push_str(name);
        let mid = self.text.len();
        self.text.push_str(value);
        self.spans.push((start, mid, self.text.len()));
    }

    /// Appends a header whose value is formatted in place (numbers, dates).
    pub(crate) fn push_fmt(&mut self, prefix: &str, name: &str, value: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        let start = self.text.len();
        self.text.push_str(prefix);
        self.text.push_str(name);
        let mid = self.text.len();
        let _ = self.text.write_fmt(value);
        if self.text.len() == mid {
            self.text.truncate(start);
            return;
        }
        self.spans.push((start, mid, self.text.len()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans.iter().map(move |&(a, b, c)| {
            (
                self.text.get(a..b).unwrap_or(""),
                self.text.get(b..c).unwrap_or(""),
            )
        })
    }

    /// The first value of a header, as `switch_event_get_header` reads it (any case).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// A fired event. `name` is the event type used for subscriptions (PRIVATE_COMMAND for a
/// broadcast's double header set); `headers` hold decoded values in wire order.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) subclass: Option<String>,
    pub(crate) headers: Headers,
    pub(crate) body: Option<String>,
    encoded: [OnceLock<Vec<u8>>; 3],
}

impl Event {
    pub(crate) fn new(
        name: &str,
        subclass: Option<String>,
        headers: Headers,
        body: Option<String>,
    ) -> Event {
        Event {
            name: name.to_owned(),
            subclass,
            headers,
            body,
            encoded: Default::default(),
        }
    }

    /// The first value of a header, as `switch_event_get_header` (filters, myevents) reads it.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The frame for a listener in `format`, encoded once per format.
    pub(crate) fn frame(&self, format: EventFormat) -> &[u8] {
        let slot = match format {
            EventFormat::Plain => &self.encoded[0],
            EventFormat::Json => &self.encoded[1],
            EventFormat::Xml => &self.encoded[2],
        };
        slot.get_or_init(|| wire::event(format, self.headers.iter(), self.body.as_deref()))
    }
}

/// What every event's core block says besides the switch's identity: its name, sequence
/// number, time and where it was fired.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head<'a> {
    pub(crate) name: &'a str,
    pub(crate) seq: u64,
    pub(crate) at: Micros,
    pub(crate) origin: Origin,
}

/// Builds the core header block of one event.
pub(crate) fn core(id: &Identity, name: &str, seq: u64, at: Micros, origin: Origin) -> Headers {
    let mut h = Headers::with_capacity(24);
    core_into(
        &mut h,
        id,
        Head {
            name,
            seq,
            at,
            origin,
        },
    );
    h
}

pub(crate) fn core_into(h: &mut Headers, id: &Identity, head: Head<'_>) {
    let Head {
        name,
        seq,
        at,
        origin,
    } = head;
    let Origin(file, func, line) = origin;
    h.push("Event-Name", name);
    h.push("Core-UUID", &id.core_uuid);
    h.push("FreeSWITCH-Hostname", &id.hostname);
    h.push("FreeSWITCH-Switchname", &id.hostname);
    h.push("FreeSWITCH-IPv4", &id.ipv4);
    h.push("FreeSWITCH-IPv6", &id.ipv6);
    h.push("Event-Date-Local", &clock::local(at));
    h.push("Event-Date-GMT", &clock::gmt(at));
    h.push_fmt("", "Event-Date-Timestamp", format_args!("{at}"));
    h.push("Event-Calling-File", file);
    h.push("Event-Calling-Function", func);
    h.push_fmt("", "Event-Calling-Line-Number", format_args!("{line}"));
    h.push_fmt("", "Event-Sequence", format_args!("{seq}"));
}

/// Which parts of the channel data an event carries, beyond the basic block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vars {
    /// CHANNEL_STATE, CALLSTATE, CODEC, DTMF, PRIVATE_COMMAND: no variables.
    Without,
    /// CREATE, EXECUTE, PARK, HANGUP_COMPLETE...: every `variable_*` after the profile.
    With,
}

/// An event about one channel: core headers, `before` (event-specific headers FreeSWITCH adds
/// before the channel data), channel data, `after`.
pub(crate) fn channel_event(
    id: &Identity,
    head: Head<'_>,
    chan: &Channel,
    vars: Vars,
    before: &[(&str, String)],
    after: &[(&str, String)],
) -> Headers {
    let mut h = Headers::with_capacity(if vars == Vars::With { 220 } else { 80 });
    core_into(&mut h, id, head);
    for (n, v) in before {
        h.push(n, v);
    }
    chan.push_basic(&mut h);
    if vars == Vars::With {
        chan.push_vars(&mut h);
    }
    for (n, v) in after {
        h.push(n, v);
    }
    h
}
