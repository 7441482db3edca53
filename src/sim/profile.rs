//! A caller profile (`switch_caller_profile_t`): who is calling whom on a leg, and the leg's
//! timetable. Owns the `Caller-*` / `Other-Leg-*` header block in FreeSWITCH's order (fields
//! that are empty are left out, exactly as `switch_caller_profile_event_set_data` does). It never
//! decides when a profile changes; the switch does.

use super::clock::Micros;
use super::events::Headers;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// `switch_channel_timetable_t`, in microseconds since the epoch (0 = never).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Times {
    pub(crate) profile_created: Micros,
    pub(crate) created: Micros,
    pub(crate) answered: Micros,
    pub(crate) progress: Micros,
    pub(crate) progress_media: Micros,
    pub(crate) hungup: Micros,
    pub(crate) transferred: Micros,
    pub(crate) resurrected: Micros,
    pub(crate) bridged: Micros,
    pub(crate) last_hold: Micros,
    pub(crate) hold_accum: Micros,
}

#[derive(Clone, Debug)]
pub(crate) struct CallerProfile {
    pub(crate) direction: Direction,
    pub(crate) logical_direction: Direction,
    pub(crate) username: String,
    pub(crate) dialplan: String,
    pub(crate) caller_id_name: String,
    pub(crate) caller_id_number: String,
    pub(crate) orig_caller_id_name: String,
    pub(crate) orig_caller_id_number: String,
    pub(crate) callee_id_name: String,
    pub(crate) callee_id_number: String,
    pub(crate) network_addr: String,
    pub(crate) ani: String,
    pub(crate) destination_number: String,
    pub(crate) uuid: String,
    pub(crate) source: String,
    pub(crate) transfer_source: String,
    pub(crate) context: String,
    /// The destination before a transfer (`Caller-RDNIS`).
    pub(crate) rdnis: String,
    pub(crate) chan_name: String,
    /// `None` for the copies shown as `Other-Leg-*` (they carry no index).
    pub(crate) profile_index: Option<u32>,
    pub(crate) times: Times,
}

impl CallerProfile {
    pub(crate) fn new(direction: Direction, uuid: &str, chan_name: &str) -> CallerProfile {
        CallerProfile {
            direction,
            logical_direction: direction,
            username: String::new(),
            dialplan: String::new(),
            caller_id_name: String::new(),
            caller_id_number: String::new(),
            orig_caller_id_name: String::new(),
            orig_caller_id_number: String::new(),
            callee_id_name: String::new(),
            callee_id_number: String::new(),
            network_addr: String::new(),
            ani: String::new(),
            destination_number: String::new(),
            uuid: uuid.to_owned(),
            source: String::new(),
            transfer_source: String::new(),
            context: String::new(),
            rdnis: String::new(),
            chan_name: chan_name.to_owned(),
            profile_index: Some(1),
            times: Times::default(),
        }
    }

    /// Appends the profile's headers under `prefix` (`Caller` or `Other-Leg`).
    pub(crate) fn push_headers(&self, prefix: &str, out: &mut Headers) {
        let mut add = |name: &str, value: &str| out.push_prefixed(prefix, name, value);
        add("-Direction", self.direction.as_str());
        add("-Logical-Direction", self.logical_direction.as_str());
        add("-Username", &self.username);
        add("-Dialplan", &self.dialplan);
        add("-Caller-ID-Name", &self.caller_id_name);
        add("-Caller-ID-Number", &self.caller_id_number);
        if !self.caller_id_name.is_empty() {
            add("-Orig-Caller-ID-Name", &self.orig_caller_id_name);
        }
        if !self.caller_id_number.is_empty() {
            add("-Orig-Caller-ID-Number", &self.orig_caller_id_number);
        }
        add("-Callee-ID-Name", &self.callee_id_name);
        add("-Callee-ID-Number", &self.callee_id_number);
        add("-Network-Addr", &self.network_addr);
        add("-ANI", &self.ani);
        add("-Destination-Number", &self.destination_number);
        add("-Unique-ID", &self.uuid);
        add("-Source", &self.source);
        add("-Transfer-Source", &self.transfer_source);
        add("-Context", &self.context);
        add("-RDNIS", &self.rdnis);
        add("-Channel-Name", &self.chan_name);
        if let Some(index) = self.profile_index {
            out.push_fmt(prefix, "-Profile-Index", format_args!("{index}"));
        }
        let t = &self.times;
        for (name, value) in [
            ("-Profile-Created-Time", t.profile_created),
            ("-Channel-Created-Time", t.created),
            ("-Channel-Answered-Time", t.answered),
            ("-Channel-Progress-Time", t.progress),
            ("-Channel-Progress-Media-Time", t.progress_media),
            ("-Channel-Hangup-Time", t.hungup),
            ("-Channel-Transfer-Time", t.transferred),
            ("-Channel-Resurrect-Time", t.resurrected),
            ("-Channel-Bridged-Time", t.bridged),
            ("-Channel-Last-Hold", t.last_hold),
            ("-Channel-Hold-Accum", t.hold_accum),
        ] {
            out.push_fmt(prefix, name, format_args!("{value}"));
        }
        for (name, value) in [
            ("-Screen-Bit", "true"),
            ("-Privacy-Hide-Name", "false"),
            ("-Privacy-Hide-Number", "false"),
        ] {
            out.push_prefixed(prefix, name, value);
        }
    }
}
