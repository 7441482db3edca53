//! What one ESL connection has asked to receive: its event format, event types, CUSTOM
//! subclasses, header filters and `myevents` binding, with mod_event_socket's reply texts for
//! `event`, `nixevent`, `noevents` and `filter`. Pure state: it never touches a socket.

use std::collections::HashSet;

use crate::esl::event::EventFormat;

use super::events::Event;

/// `EVENT_NAMES` of switch_event.c (1.10.12), the names `event`/`nixevent` accept.
const EVENT_NAMES: &[&str] = &[
    "CUSTOM",
    "CLONE",
    "CHANNEL_CREATE",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE",
    "CHANNEL_CALLSTATE",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_UNPARK",
    "CHANNEL_APPLICATION",
    "CHANNEL_ORIGINATE",
    "CHANNEL_UUID",
    "API",
    "LOG",
    "INBOUND_CHAN",
    "OUTBOUND_CHAN",
    "STARTUP",
    "SHUTDOWN",
    "PUBLISH",
    "UNPUBLISH",
    "TALK",
    "NOTALK",
    "SESSION_CRASH",
    "MODULE_LOAD",
    "MODULE_UNLOAD",
    "DTMF",
    "MESSAGE",
    "PRESENCE_IN",
    "NOTIFY_IN",
    "PRESENCE_OUT",
    "PRESENCE_PROBE",
    "MESSAGE_WAITING",
    "MESSAGE_QUERY",
    "ROSTER",
    "CODEC",
    "BACKGROUND_JOB",
    "DETECTED_SPEECH",
    "DETECTED_TONE",
    "PRIVATE_COMMAND",
    "HEARTBEAT",
    "TRAP",
    "ADD_SCHEDULE",
    "DEL_SCHEDULE",
    "EXE_SCHEDULE",
    "RE_SCHEDULE",
    "RELOADXML",
    "NOTIFY",
    "PHONE_FEATURE",
    "PHONE_FEATURE_SUBSCRIBE",
    "SEND_MESSAGE",
    "RECV_MESSAGE",
    "REQUEST_PARAMS",
    "CHANNEL_DATA",
    "GENERAL",
    "COMMAND",
    "SESSION_HEARTBEAT",
    "CLIENT_DISCONNECTED",
    "SERVER_DISCONNECTED",
    "SEND_INFO",
    "RECV_INFO",
    "RECV_RTCP_MESSAGE",
    "SEND_RTCP_MESSAGE",
    "CALL_SECURE",
    "NAT",
    "RECORD_START",
    "RECORD_STOP",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "CALL_UPDATE",
    "FAILURE",
    "SOCKET_DATA",
    "MEDIA_BUG_START",
    "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY",
    "CONFERENCE_DATA",
    "CALL_SETUP_REQ",
    "CALL_SETUP_RESULT",
    "CALL_DETAIL",
    "DEVICE_STATE",
    "TEXT",
    "SHUTDOWN_REQUESTED",
    "ALL",
];

/// The events `myevents` turns on (mod_event_socket's fixed list).
const MYEVENTS: &[&str] = &[
    "CHANNEL_ANSWER",
    "CHANNEL_APPLICATION",
    "CHANNEL_BRIDGE",
    "CHANNEL_CREATE",
    "CHANNEL_DATA",
    "CHANNEL_DESTROY",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_ORIGINATE",
    "CHANNEL_UUID",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_STATE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_UNPARK",
    "DETECTED_SPEECH",
    "DTMF",
    "NOTALK",
    "TALK",
];

/// `switch_name_event`: the canonical name, also accepting a `SWITCH_EVENT_` prefix.
fn event_name(word: &str) -> Option<&'static str> {
    EVENT_NAMES.iter().copied().find(|name| {
        word.eq_ignore_ascii_case(name)
            || (word.len() > 13
                && word
                    .get(13..)
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(name)))
    })
}

/// Which event types a connection may want: a superset of what `Subscription::wants`
/// accepts, so the switch can skip building events no connection would receive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Interest {
    pub(crate) all: bool,
    pub(crate) names: HashSet<&'static str>,
}

impl Interest {
    /// Whether an event named `name` may go to someone.
    pub(crate) fn wants(&self, name: &str) -> bool {
        self.all || self.names.contains(name)
    }

    /// Adds what `other` may want.
    pub(crate) fn merge(&mut self, other: &Interest) {
        self.all |= other.all;
        if !self.all {
            self.names.extend(other.names.iter().copied());
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Subscription {
    pub(crate) format: EventFormat,
    listening: bool,
    all: bool,
    names: HashSet<&'static str>,
    all_custom: bool,
    custom: HashSet<String>,
    filters: Vec<(String, String)>,
    myevents: bool,
    /// The channel a `myevents <uuid>` bound this connection to.
    pub(crate) session: Option<String>,
    pub(crate) linger: Option<u32>,
}

impl Subscription {
    /// What this connection may receive, for the switch.
    pub(crate) fn interest(&self) -> Interest {
        if !self.listening {
            return Interest::default();
        }
        Interest {
            all: self.all,
            names: if self.all {
                HashSet::new()
            } else {
                self.names.clone()
            },
        }
    }

    /// `event <format> <names...>`; also the reply text.
    pub(crate) fn event(&mut self, args: &str) -> String {
        let mut keys = 0;
        let mut custom = false;
        for (i, word) in args.split(' ').filter(|w| !w.is_empty()).enumerate() {
            if i == 0 {
                if let Ok(format) = word.parse::<EventFormat>() {
                    self.format = format;
                    continue;
                }
            }
            if custom {
                self.custom.insert(word.to_owned());
                continue;
            }
            let Some(name) = event_name(word) else {
                continue;
            };
            keys += 1;
            match name {
                "ALL" => {
                    self.all = true;
                    self.all_custom = true;
                }
                "CUSTOM" => {
                    self.names.insert(name);
                    custom = true;
                }
                _ => {
                    self.names.insert(name);
                }
            }
        }
        if keys == 0 {
            return "-ERR no keywords supplied".into();
        }
        self.listening = true;
        format!("+OK event listener enabled {}", self.format)
    }

    pub(crate) fn nixevent(&mut self, args: &str) -> String {
        let mut keys = 0;
        let mut custom = false;
        for word in args.split(' ').filter(|w| !w.is_empty()) {
            if custom {
                self.custom.remove(word);
                continue;
            }
            let Some(name) = event_name(word) else {
                continue;
            };
            keys += 1;
            match name {
                "CUSTOM" => custom = true,
                "ALL" => {
                    self.all = false;
                    self.names.clear();
                }
                _ => {
                    if self.all {
                        // Nixing one event out of ALL leaves every other one on.
                        self.all = false;
                        self.names
                            .extend(EVENT_NAMES.iter().copied().filter(|n| *n != "ALL"));
                    }
                    self.names.remove(name);
                }
            }
        }
        if keys == 0 {
            return "-ERR no keywords supplied".into();
        }
        self.listening = true;
        "+OK events nixed".into()
    }

    pub(crate) fn noevents(&mut self) -> String {
        if !self.listening {
            return "-ERR not listening for events".into();
        }
        self.listening = false;
        self.all = false;
        self.all_custom = false;
        self.names.clear();
        self.custom.clear();
        "+OK no longer listening for events".into()
    }

    /// `filter <header> <value>`, `filter delete <header> [value]`, `filter delete all`.
    pub(crate) fn filter(&mut self, args: &str) -> String {
        let args = args.trim_start_matches(' ');
        let (name, value) = match args.split_once(' ') {
            Some((n, v)) => (n, Some(v)),
            None => (args, None),
        };
        match value {
            Some(rest) if name.eq_ignore_ascii_case("delete") => {
                let (header, value) = match rest.split_once(' ') {
                    Some((h, v)) => (h, Some(v)),
                    None => (rest, None),
                };
                if header.eq_ignore_ascii_case("all") {
                    self.filters.clear();
                } else {
                    self.filters.retain(|(n, v)| {
                        !(n.eq_ignore_ascii_case(header) && value.is_none_or(|want| want == v))
                    });
                }
                format!("+OK filter deleted. [{header}][{}]", value.unwrap_or(""))
            }
            Some(rest) => {
                let (header, value) = match (name.eq_ignore_ascii_case("add"), rest.split_once(' '))
                {
                    (true, Some((h, v))) => (h, v),
                    (true, None) => (rest, ""),
                    (false, _) => (name, rest),
                };
                self.filters.push((header.to_owned(), value.to_owned()));
                format!("+OK filter added. [{header}]=[{value}]")
            }
            None => "-ERR invalid syntax".into(),
        }
    }

    /// `myevents [<uuid>]` once the uuid has been looked up; `exists` tells whether it names a
    /// live channel. Returns the reply text.
    pub(crate) fn myevents(
        &mut self,
        uuid: &str,
        format_word: Option<&str>,
        exists: bool,
    ) -> String {
        if self.myevents {
            return "-ERR aready enabled.".into();
        }
        if !exists && format_word.is_some() {
            return "-ERR invalid uuid".into();
        }
        if exists {
            self.session = Some(uuid.to_owned());
        }
        // mod_event_socket 1.10.12 never applies the format word after a uuid (its string was
        // already split), so `myevents <uuid> json` still delivers plain.
        self.names.extend(MYEVENTS.iter().copied());
        self.myevents = true;
        self.listening = true;
        "+OK Events Enabled".into()
    }

    /// Whether `event` goes to this connection (mod_event_socket's `event_handler`).
    pub(crate) fn wants(&self, event: &Event) -> bool {
        if !self.listening {
            return false;
        }
        let mut send = self.all
            || (self.names.contains(event.name.as_str())
                && (event.name != "CUSTOM"
                    || event
                        .subclass
                        .as_ref()
                        .is_none_or(|s| self.all_custom || self.custom.contains(s))));
        if send && !self.filters.is_empty() {
            send = false;
            for (name, value) in &self.filters {
                let Some(have) = event.header(name) else {
                    continue;
                };
                let mut positive = true;
                let mut want = value.as_str();
                while let Some(c) = want.chars().next() {
                    match c {
                        '+' => positive = true,
                        '-' => positive = false,
                        ' ' => {}
                        _ => break,
                    }
                    want = &want[1..];
                }
                if send && positive {
                    continue;
                }
                // A `/regex/` filter is approximated by a substring match.
                let matched = match value.strip_prefix('/') {
                    Some(pattern) => have.contains(pattern.trim_end_matches('/')),
                    None => have.eq_ignore_ascii_case(want),
                };
                if matched {
                    if positive {
                        send = true;
                    } else {
                        send = false;
                        break;
                    }
                }
            }
        }
        if send && self.myevents {
            match (event.header("Unique-ID"), &self.session) {
                (None, _) => send = false,
                (Some(uuid), Some(session)) if uuid != session => send = false,
                _ => {}
            }
        }
        send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, uuid: Option<&str>) -> Event {
        let mut headers = super::super::events::Headers::default();
        headers.push("Event-Name", name);
        if let Some(u) = uuid {
            headers.push("Unique-ID", u);
        }
        Event::new(name, None, headers, None)
    }

    #[test]
    fn replies_and_matching_follow_mod_event_socket() {
        let mut s = Subscription::default();
        assert!(!s.wants(&event("CHANNEL_PARK", Some("a"))));
        assert_eq!(s.noevents(), "-ERR not listening for events");
        assert_eq!(
            s.event("plain CHANNEL_PARK CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info"),
            "+OK event listener enabled plain"
        );
        assert!(s.wants(&event("CHANNEL_PARK", Some("a"))));
        assert!(!s.wants(&event("CHANNEL_ANSWER", Some("a"))));
        assert_eq!(
            s.event("json CHANNEL_ANSWER"),
            "+OK event listener enabled json"
        );
        assert_eq!(s.format, EventFormat::Json);
        assert_eq!(s.nixevent("CHANNEL_ANSWER"), "+OK events nixed");
        assert!(!s.wants(&event("CHANNEL_ANSWER", Some("a"))));
        assert_eq!(s.event("xml"), "-ERR no keywords supplied");
        assert_eq!(s.filter("Unique-ID a"), "+OK filter added. [Unique-ID]=[a]");
        assert!(s.wants(&event("CHANNEL_PARK", Some("a"))));
        assert!(!s.wants(&event("CHANNEL_PARK", Some("b"))));
        assert_eq!(
            s.filter("delete Unique-ID"),
            "+OK filter deleted. [Unique-ID][]"
        );
        assert!(s.wants(&event("CHANNEL_PARK", Some("b"))));
        assert_eq!(s.filter("Unique-ID"), "-ERR invalid syntax");
        assert_eq!(s.noevents(), "+OK no longer listening for events");
        assert_eq!(s.event("plain ALL"), "+OK event listener enabled plain");
        assert!(s.wants(&event("HEARTBEAT", None)));
    }
}
