//! Applications run on a leg from outside the dialplan: `uuid_broadcast` (a COMMAND queued as a
//! private event), `sendmsg` execute/hangup, `uuid_break`, and `playback` with its
//! PLAYBACK_START/STOP, `FILE PLAYED` / `PLAYBACK ERROR` and the COMMAND/PRIVATE_COMMAND event it
//! leaves behind. Commands on one leg run one at a time, in order, as FreeSWITCH's private event
//! queue does.

use std::time::Duration;

use super::channel::PrivateCommand;
use super::events::{self, origin, Vars};
use super::hangup::{parse_cause, End, Hook, Initiator};
use super::switch::{Switch, Timer};

/// Which legs a broadcast plays on (`aleg`, `bleg`, `both`, or the default `aleg` + `holdb`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Legs {
    pub(crate) a: bool,
    pub(crate) b: bool,
    pub(crate) hold_b: bool,
}

impl Legs {
    /// `uuid_broadcast`'s third argument, matched as substrings the way mod_commands does.
    pub(crate) fn parse(word: Option<&str>) -> Legs {
        let Some(word) = word else {
            return Legs {
                a: true,
                b: false,
                hold_b: true,
            };
        };
        let word = word.to_ascii_lowercase();
        let mut legs = Legs {
            a: false,
            b: false,
            hold_b: false,
        };
        if word.contains("both") {
            legs.a = true;
            legs.b = true;
        }
        if word.contains("aleg") {
            legs.a = true;
        }
        if word.contains("bleg") {
            legs.hold_b = false;
            legs.b = true;
        }
        if word.contains("holdb") {
            legs.b = false;
            legs.hold_b = true;
        }
        legs
    }
}

/// How long a file plays; `None` for an endless one (`loops=-1`, `local_stream://`).
pub(crate) fn playback_length(path: &str) -> Option<Duration> {
    if let Some(spec) = path.strip_prefix("tone_stream://") {
        let (tones, options) = spec.split_once(';').unwrap_or((spec, ""));
        let loops: i64 = options
            .split(';')
            .find_map(|o| o.strip_prefix("loops="))
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(1);
        if loops < 0 {
            return None;
        }
        let mut cycle_ms = 0u64;
        for segment in tones.split("%(").skip(1) {
            let inner = segment.split(')').next().unwrap_or("");
            let mut numbers = inner
                .split(',')
                .map(|n| n.trim().parse::<u64>().unwrap_or(0));
            cycle_ms = cycle_ms
                .saturating_add(numbers.next().unwrap_or(0))
                .saturating_add(numbers.next().unwrap_or(0));
        }
        return Some(Duration::from_millis(
            cycle_ms.max(20).saturating_mul(loops.max(1) as u64),
        ));
    }
    if path.starts_with("local_stream://") {
        return None;
    }
    if let Some(ms) = path.strip_prefix("silence_stream://") {
        let ms: i64 = ms
            .split(',')
            .next()
            .and_then(|m| m.trim().parse().ok())
            .unwrap_or(1000);
        return (ms >= 0).then(|| Duration::from_millis(ms as u64));
    }
    if path.starts_with("say:") || path.starts_with("phrase:") {
        return Some(Duration::from_secs(2));
    }
    Some(Duration::from_secs(3))
}

impl Switch {
    /// `uuid_broadcast`: queues a playback COMMAND on the chosen legs. False if no such leg.
    pub(crate) fn broadcast(&mut self, uuid: &str, path: &str, legs: Legs) -> bool {
        if !self.live(uuid) {
            return false;
        }
        let partner = self.chan(uuid).and_then(|c| c.bridged_to.clone());
        if legs.b {
            if let Some(partner) = partner {
                let command = self.broadcast_command(path, legs.hold_b);
                self.queue_command(&partner, command);
            }
        }
        if legs.a {
            let command = self.broadcast_command(path, legs.hold_b);
            self.queue_command(uuid, command);
        }
        true
    }

    /// The COMMAND event `switch_ivr_broadcast` creates (its sequence is taken now).
    fn broadcast_command(&mut self, path: &str, hold_b: bool) -> PrivateCommand {
        let (app, arg) = match path.split_once("::") {
            Some((app, arg)) => (app.to_owned(), arg.to_owned()),
            None => ("playback".to_owned(), path.to_owned()),
        };
        let seq = self.next_seq();
        let at = self.micros();
        let mut lead = events::core(&self.id, "COMMAND", seq, at, origin::COMMAND);
        lead.push(("call-command".into(), "execute".into()));
        lead.push(("execute-app-name".into(), app.clone()));
        lead.push(("execute-app-arg".into(), arg.clone()));
        lead.push(("event-lock".into(), "true".into()));
        lead.push(("lead-frames".into(), "5".into()));
        if hold_b {
            lead.push(("hold-bleg".into(), "true".into()));
        }
        PrivateCommand {
            app,
            arg,
            app_uuid: None,
            lead,
            body: None,
            hangup_cause: None,
        }
    }

    /// `sendmsg <uuid>`: the block's headers as sent (first line excluded) and its body.
    /// Returns the command/reply text.
    pub(crate) fn sendmsg(
        &mut self,
        uuid: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> String {
        if !self.live(uuid) {
            return format!("-ERR invalid session id [{uuid}]");
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut lead = vec![("Command".to_owned(), format!("sendmsg {uuid}"))];
        lead.extend(headers.iter().cloned());
        let command = match get("call-command")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "execute" => PrivateCommand {
                app: get("execute-app-name").unwrap_or_default(),
                arg: get("execute-app-arg")
                    .or_else(|| body.clone())
                    .unwrap_or_default(),
                app_uuid: get("event-uuid"),
                lead,
                body,
                hangup_cause: None,
            },
            "hangup" => {
                let cause = get("hangup-cause")
                    .as_deref()
                    .and_then(parse_cause)
                    .unwrap_or("NORMAL_CLEARING");
                PrivateCommand {
                    app: String::new(),
                    arg: String::new(),
                    app_uuid: None,
                    lead,
                    body,
                    hangup_cause: Some(cause.to_owned()),
                }
            }
            // nomedia, unicast, ...: accepted; the simulator has no media to change.
            _ => return "+OK".into(),
        };
        self.queue_command(uuid, command);
        "+OK".into()
    }

    pub(crate) fn queue_command(&mut self, uuid: &str, command: PrivateCommand) {
        if let Some(c) = self.chan_mut(uuid) {
            c.queue.push_back(command);
        }
        self.pump(uuid);
    }

    /// Runs queued commands until one blocks (a playback) or the queue is empty.
    pub(crate) fn pump(&mut self, uuid: &str) {
        loop {
            let Some(c) = self.chan_mut(uuid) else { return };
            if c.down || c.playing.is_some() {
                return;
            }
            let Some(command) = c.queue.pop_front() else {
                return;
            };
            self.run_command(uuid, command);
        }
    }

    fn run_command(&mut self, uuid: &str, command: PrivateCommand) {
        if let Some(cause) = command.hangup_cause.clone() {
            self.hangup(
                uuid,
                End::new(&cause, Initiator::Switch),
                Some(Hook::Private(command)),
            );
            return;
        }
        match command.app.as_str() {
            "playback" => self.start_playback(uuid, command),
            "hangup" => {
                let app_uuid = command.app_uuid.clone().unwrap_or_else(|| self.rng.uuid());
                self.execute_event(uuid, "hangup", &command.arg, &app_uuid);
                let cause = parse_cause(&command.arg).unwrap_or("NORMAL_CLEARING");
                self.hangup(
                    uuid,
                    End::new(cause, Initiator::Switch),
                    Some(Hook::Private(command)),
                );
            }
            "set" | "unset" | "export" | "answer" | "pre_answer" | "park" | "sleep" | "log"
            | "info" => {
                let app = command.app.clone();
                let arg = command.arg.clone();
                if app == "park" || app == "sleep" || app == "log" || app == "info" {
                    let app_uuid = command.app_uuid.clone().unwrap_or_else(|| self.rng.uuid());
                    self.execute_event(uuid, &app, &arg, &app_uuid);
                    self.execute_complete_event(uuid, &app, &arg, "_none_", &app_uuid);
                } else {
                    self.simple_app(uuid, &app, &arg, command.app_uuid.clone());
                }
                self.command_event(uuid, &command);
            }
            // An application the simulator does not know: FreeSWITCH logs "Invalid Application"
            // and runs nothing, but the private command is still reported.
            _ => self.command_event(uuid, &command),
        }
    }

    /// The PRIVATE_COMMAND a finished command leaves (with the COMMAND set of a broadcast, or
    /// the `sendmsg` block, in front).
    pub(crate) fn command_event(&mut self, uuid: &str, command: &PrivateCommand) {
        let seq = self.next_seq();
        let at = self.micros();
        let Some(chan) = self.chan(uuid) else { return };
        let mut h = command.lead.clone();
        events::core_into(
            &mut h,
            &self.id,
            events::Head {
                name: "PRIVATE_COMMAND",
                seq,
                at,
                origin: origin::PRIVATE_COMMAND,
            },
        );
        chan.push_basic(&mut h);
        self.emit("PRIVATE_COMMAND", None, h, command.body.clone());
    }

    fn start_playback(&mut self, uuid: &str, command: PrivateCommand) {
        self.pre_answer(uuid);
        let app_uuid = command.app_uuid.clone().unwrap_or_else(|| self.rng.uuid());
        let path = command.arg.clone();
        self.execute_event(uuid, "playback", &path, &app_uuid);
        // `switch_ivr_parse_event` runs the application once per `loops`.
        self.set_var(uuid, "current_loop", "1");
        self.set_var(uuid, "total_loops", "1");
        self.fire(
            uuid,
            "PLAYBACK_START",
            origin::PLAYBACK_START,
            Vars::With,
            &[],
            &file_headers(&path, None),
        );
        let token = self.token();
        let started = self.micros();
        if let Some(c) = self.chan_mut(uuid) {
            c.playing = Some(super::channel::Playing {
                command,
                app_uuid,
                started,
                token,
            });
        }
        if let Some(length) = playback_length(&path) {
            self.schedule(length, Timer::PlaybackDone(uuid.to_owned(), token));
        }
    }

    pub(crate) fn playback_done(&mut self, uuid: &str, token: u64) {
        let current = self
            .chan(uuid)
            .and_then(|c| c.playing.as_ref())
            .is_some_and(|p| p.token == token);
        if current {
            self.finish_playback(uuid, "done", "FILE PLAYED");
            self.pump(uuid);
        }
    }

    /// Ends the running playback: PLAYBACK_STOP, EXECUTE_COMPLETE with `response`, and the
    /// command's PRIVATE_COMMAND.
    pub(crate) fn finish_playback(&mut self, uuid: &str, status: &str, response: &str) {
        let now = self.micros();
        let Some(c) = self.chan_mut(uuid) else { return };
        let Some(playing) = c.playing.take() else {
            return;
        };
        let ms = u64::try_from((now - playing.started).max(0) / 1000).unwrap_or(0);
        let samples = ms * 8;
        c.vars.set("playback_last_offset_pos", samples.to_string());
        c.vars.set("playback_seconds", (ms / 1000).to_string());
        c.vars.set("playback_ms", ms.to_string());
        c.vars.set("playback_samples", samples.to_string());
        let path = playing.command.arg.clone();
        self.fire(
            uuid,
            "PLAYBACK_STOP",
            origin::PLAYBACK_STOP,
            Vars::With,
            &[],
            &file_headers(&path, Some(status)),
        );
        if let Some(c) = self.chan_mut(uuid) {
            c.vars.set("current_application_response", response);
            c.last_response = response.to_owned();
        }
        self.execute_complete_event(uuid, "playback", &path, response, &playing.app_uuid);
        self.command_event(uuid, &playing.command);
    }

    /// `uuid_break [all]`: stops the running playback; `all` also drops what is queued.
    pub(crate) fn break_playback(&mut self, uuid: &str, all: bool) -> bool {
        if !self.live(uuid) {
            return false;
        }
        if all {
            if let Some(c) = self.chan_mut(uuid) {
                c.queue.clear();
            }
        }
        if self.chan(uuid).is_some_and(|c| c.playing.is_some()) {
            self.finish_playback(uuid, "break", "FILE PLAYED");
        }
        self.pump(uuid);
        true
    }
}

fn file_headers(path: &str, status: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = Vec::with_capacity(3);
    let starts = |prefix: &str| {
        path.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    if starts("local_stream:") {
        h.push(("Playback-File-Type", "local_stream".to_owned()));
    } else if starts("tone_stream:") {
        h.push(("Playback-File-Type", "tone_stream".to_owned()));
    }
    h.push(("Playback-File-Path", path.to_owned()));
    if let Some(status) = status {
        h.push(("Playback-Status", status.to_owned()));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_stream_lengths() {
        assert_eq!(
            playback_length("tone_stream://%(200,0,500);loops=2"),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            playback_length("tone_stream://%(1000,4000,440);loops=-1"),
            None
        );
        assert_eq!(playback_length("local_stream://moh"), None);
        assert_eq!(
            playback_length("/srv/prompt.wav"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            Legs::parse(Some("aleg")),
            Legs {
                a: true,
                b: false,
                hold_b: false
            }
        );
        assert_eq!(
            Legs::parse(Some("both")),
            Legs {
                a: true,
                b: true,
                hold_b: false
            }
        );
    }
}
