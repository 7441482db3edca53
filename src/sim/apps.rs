//! Applications on a leg, as `switch_ivr_parse_event` and `switch_core_session_exec` run them:
//! private commands (`uuid_broadcast`, `sendmsg` execute/hangup) wait in the channel's queue
//! and run one at a time (event-lock) while the leg is parked or bridged, each `loops` times;
//! a dialplan extension's applications run in order. The timed ones (`playback`, `say`,
//! `sleep`) end in one of three ways: they run out (`FILE PLAYED`), they are broken
//! (`uuid_break`, a terminator digit: `Playback-Status: break`, `FILE PLAYED`), or the leg
//! stops being ready under them (hangup, uuid_bridge, transfer: `PLAYBACK ERROR`). A finished
//! private command leaves its COMMAND/PRIVATE_COMMAND event; a response leaks into park's
//! EXECUTE_COMPLETE as FreeSWITCH's `current_application_response` does.

use std::time::Duration;

use super::channel::{ActiveCommand, PrivateCommand, Running, TransferTarget};
use super::events::{self, origin, Headers, Vars};
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

/// How a timed application ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// It ran to its end.
    Done,
    /// CF_BREAK: `uuid_break`, or a playback terminator digit.
    Break,
    /// The leg stopped being ready under it: hangup, uuid_bridge, transfer.
    NotReady,
}

/// What executing an application did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Started {
    /// It executed and completed.
    Finished,
    /// It runs on; its end comes later (`Stop`).
    Running,
    /// No such application: nothing executed (a private command's "Invalid Application").
    Invalid,
    /// It took the leg elsewhere (hangup, park): whoever asked stops here.
    Left,
}

/// `atoi`: the leading integer of `text`, 0 when there is none.
pub(crate) fn atoi(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end]
        .parse::<i64>()
        .map_or(if end == 0 { 0 } else { i64::MAX }, |n| sign * n)
}

/// How long a file plays; `None` for an endless one (`loops=-1`, `local_stream://`). `file`
/// is the length of one sound file.
pub(crate) fn playback_length(path: &str, file: Duration) -> Option<Duration> {
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
            cycle_ms
                .max(20)
                .saturating_mul(u64::try_from(loops.max(1)).unwrap_or(1)),
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
        return u64::try_from(ms).ok().map(Duration::from_millis);
    }
    if let Some(files) = path.strip_prefix("file_string://") {
        // mod_dptools opens the pieces in turn: the sum of theirs, endless if one is (hold
        // music after an announcement).
        let mut total = None::<Duration>;
        for piece in files.split('!').filter(|f| !f.is_empty()) {
            let length = playback_length(piece, file)?;
            total = Some(total.unwrap_or_default().saturating_add(length));
        }
        return Some(total.unwrap_or(file));
    }
    Some(file)
}

/// The `file_string://` mod_say_en plays for `say en <type> <method> <text>`; `None` when it
/// says nothing (another module, a type other than number/items/persons/messages, a parse
/// error). The files are `digits/*.wav` as `en_say_general_count` names them.
pub(crate) fn say_files(arg: &str) -> Option<String> {
    let argv = super::api::separate(arg, 5);
    if argv.len() != 4 && argv.len() != 5 {
        return None;
    }
    let module = argv[0].split(':').next().unwrap_or("");
    if !module.eq_ignore_ascii_case("en") {
        return None;
    }
    let kind = argv[1].to_ascii_uppercase();
    if !matches!(kind.as_str(), "NUMBER" | "ITEMS" | "PERSONS" | "MESSAGES") {
        return None;
    }
    let method = argv[2].to_ascii_uppercase();
    let text = argv[argv.len() - 1].as_str();
    // switch_strip_commas: digits only, commas skipped.
    if text.chars().any(|c| !c.is_ascii_digit() && c != ',') {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let mut files: Vec<String> = Vec::new();
    if method == "ITERATED" {
        files.extend(digits.chars().map(|d| format!("digits/{d}")));
    } else {
        if digits.len() > 9 {
            return None;
        }
        let number: u32 = digits.parse().unwrap_or(0);
        if number == 0 {
            files.push("digits/0".into());
        } else if method == "PRONOUNCED" || method == "COUNTED" {
            let counted = method == "COUNTED";
            let groups = [
                (number / 1_000_000 % 1000, Some("digits/million"), false),
                (number / 1000 % 1000, Some("digits/thousand"), false),
                (number % 1000, None, counted),
            ];
            for (group, what, counted) in groups {
                say_group(&mut files, group, what, counted);
            }
        }
    }
    if files.is_empty() {
        return None;
    }
    let files: Vec<String> = files.into_iter().map(|f| format!("{f}.wav")).collect();
    Some(format!("file_string://{}", files.join("!")))
}

/// mod_say_en's `play_group`: hundreds, tens, ones of one three-digit group.
fn say_group(files: &mut Vec<String>, group: u32, what: Option<&str>, counted: bool) {
    let (a, b, mut c) = (group / 100, group / 10 % 10, group % 10);
    if a != 0 {
        files.push(format!("digits/{a}"));
        files.push("digits/hundred".into());
    }
    if b != 0 {
        if b > 1 {
            if c == 0 && counted {
                files.push(format!("digits/h-{b}0"));
            } else {
                files.push(format!("digits/{b}0"));
            }
        } else {
            files.push(format!("digits/{b}{c}"));
            c = 0;
        }
    }
    if c != 0 {
        if counted {
            files.push(format!("digits/h-{c}"));
        } else {
            files.push(format!("digits/{c}"));
        }
    }
    if let Some(what) = what {
        if group != 0 {
            files.push(what.to_owned());
        }
    }
}

/// `on_dtmf` of mod_dptools: whether `digit` stops a playback or say, by the
/// `playback_terminators` variable (default `*`, `any`, `none`).
fn terminates(terminators: Option<&str>, digit: char) -> bool {
    match terminators {
        Some(t) if t.eq_ignore_ascii_case("none") => false,
        Some(t) if t.eq_ignore_ascii_case("any") => "1234567890*#".contains(digit),
        Some(t) => t.contains(digit),
        None => digit == '*',
    }
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
        lead.push("call-command", "execute");
        lead.push("execute-app-name", &app);
        lead.push("execute-app-arg", &arg);
        lead.push("event-lock", "true");
        lead.push("lead-frames", "5");
        if hold_b {
            lead.push("hold-bleg", "true");
        }
        PrivateCommand {
            app,
            arg,
            app_uuid: None,
            app_uuid_name: None,
            loops: 1,
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
        let mut lead = Headers::with_capacity(headers.len() + 1);
        lead.push("Command", &format!("sendmsg {uuid}"));
        for (name, value) in headers {
            lead.push(name, value);
        }
        let command = match get("call-command")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "execute" => {
                // The body is the argument only when it is declared text/plain.
                let plain_body = get("content-type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"));
                let arg = get("execute-app-arg")
                    .filter(|a| !a.is_empty())
                    .or_else(|| body.clone().filter(|_| plain_body))
                    .unwrap_or_default();
                PrivateCommand {
                    app: get("execute-app-name").unwrap_or_default(),
                    arg,
                    app_uuid: get("event-uuid").filter(|u| !u.is_empty()),
                    app_uuid_name: get("event-uuid-name").filter(|u| !u.is_empty()),
                    loops: get("loops").map_or(1, |l| atoi(&l)),
                    lead,
                    body,
                    hangup_cause: None,
                }
            }
            "hangup" => {
                let cause = get("hangup-cause")
                    .as_deref()
                    .and_then(parse_cause)
                    .unwrap_or("NORMAL_CLEARING");
                PrivateCommand {
                    app: String::new(),
                    arg: String::new(),
                    app_uuid: None,
                    app_uuid_name: None,
                    loops: 1,
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

    /// Whether the leg takes its next private event now: parked or bridged, nothing executing
    /// and not on its way elsewhere.
    fn takes_commands(&self, uuid: &str) -> bool {
        self.chan(uuid).is_some_and(|c| {
            !c.down
                && !c.redirecting
                && c.command.is_none()
                && c.timed.is_none()
                && c.transfer.is_none()
                && (c.park.is_some() || c.bridged_to.is_some())
        })
    }

    /// Runs queued private commands until one takes time or the queue is empty.
    pub(crate) fn pump(&mut self, uuid: &str) {
        match self.chan_mut(uuid) {
            Some(c) if !c.pumping => c.pumping = true,
            _ => return,
        }
        while self.takes_commands(uuid) {
            let Some(command) = self.chan_mut(uuid).and_then(|c| c.queue.pop_front()) else {
                break;
            };
            self.begin_command(uuid, command);
        }
        if let Some(c) = self.chan_mut(uuid) {
            c.pumping = false;
        }
    }

    fn begin_command(&mut self, uuid: &str, command: PrivateCommand) {
        if let Some(cause) = command.hangup_cause.clone() {
            self.hangup(
                uuid,
                End::new(&cause, Initiator::Switch),
                Some(Hook::Private(command)),
            );
            return;
        }
        if let Some(c) = self.chan_mut(uuid) {
            c.command = Some(ActiveCommand {
                command,
                started: 0,
                stopped: false,
            });
        }
        self.next_iteration(uuid);
    }

    /// One more turn of `switch_ivr_parse_event`'s `loops`, or the command's end.
    fn next_iteration(&mut self, uuid: &str) {
        let Some(c) = self.chan_mut(uuid) else { return };
        let ready = !c.down && !c.redirecting && c.transfer.is_none();
        let Some(active) = c.command.as_mut() else {
            return;
        };
        let loops = active.command.loops;
        if !ready || active.stopped || !(loops < 0 || active.started < loops) {
            self.end_command(uuid);
            return;
        }
        active.started += 1;
        let turn = active.started;
        let (app, arg) = (active.command.app.clone(), active.command.arg.clone());
        let app_uuid = active.command.app_uuid.clone();
        c.app_uuid_name = active.command.app_uuid_name.clone();
        c.vars.set("current_loop", turn.to_string());
        c.vars.set("total_loops", loops.to_string());
        let app_uuid = app_uuid.unwrap_or_else(|| self.rng.uuid());
        match self.exec_app(uuid, &app, &arg, &app_uuid, true) {
            // An application that took no time ends the loop (`aftr - b4 < 500000`).
            Started::Finished | Started::Invalid => self.end_command(uuid),
            Started::Running | Started::Left => {}
        }
    }

    /// The private command is over: its loop variables go, its PRIVATE_COMMAND is fired, and
    /// the leg moves on.
    pub(crate) fn end_command(&mut self, uuid: &str) {
        let Some(c) = self.chan_mut(uuid) else { return };
        let Some(active) = c.command.take() else {
            return;
        };
        c.app_uuid_name = None;
        c.vars.unset("current_loop");
        c.vars.unset("total_loops");
        self.command_event(uuid, &active.command);
        self.settle(uuid);
    }

    /// Between applications: a pending transfer proceeds, otherwise queued commands run.
    pub(crate) fn settle(&mut self, uuid: &str) {
        let Some(c) = self.chan(uuid) else { return };
        if c.down || c.redirecting || c.timed.is_some() || c.command.is_some() {
            return;
        }
        if c.transfer.is_some() {
            self.route_transfer(uuid);
        } else {
            self.pump(uuid);
        }
    }

    /// The PRIVATE_COMMAND a finished command leaves (with the COMMAND set of a broadcast, or
    /// the `sendmsg` block, in front).
    pub(crate) fn command_event(&mut self, uuid: &str, command: &PrivateCommand) {
        let seq = self.next_seq();
        if !self.wanted("PRIVATE_COMMAND") {
            return;
        }
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

    // ----- dialplan extensions -------------------------------------------------------------

    /// Runs an extension's applications in order (`switch_core_standard_on_execute`).
    pub(crate) fn run_extension(&mut self, uuid: &str, apps: Vec<(String, String)>) {
        if let Some(c) = self.chan_mut(uuid) {
            c.pending_apps = apps.into();
        }
        self.advance_extension(uuid);
    }

    /// Executes the extension's next applications until one takes time or leaves; after the
    /// last one the leg hangs up ("has executed the last dialplan instruction").
    fn advance_extension(&mut self, uuid: &str) {
        loop {
            let Some(c) = self.chan_mut(uuid) else { return };
            if c.down || c.redirecting || c.timed.is_some() || c.park.is_some() {
                return;
            }
            if c.transfer.is_some() {
                self.settle(uuid);
                return;
            }
            let Some((app, arg)) = c.pending_apps.pop_front() else {
                self.hangup(uuid, End::new("NORMAL_CLEARING", Initiator::Switch), None);
                return;
            };
            let app_uuid = self.rng.uuid();
            if self.exec_app(uuid, &app, &arg, &app_uuid, false) != Started::Finished {
                return;
            }
        }
    }

    // ----- executing one application -------------------------------------------------------

    /// `switch_core_session_execute_application` for the applications the simulator knows;
    /// `broadcast` when a private command runs it (CF_BROADCAST).
    fn exec_app(
        &mut self,
        uuid: &str,
        app: &str,
        arg: &str,
        app_uuid: &str,
        broadcast: bool,
    ) -> Started {
        match app {
            "playback" => {
                self.execute_event(uuid, app, arg, app_uuid);
                self.set_var(uuid, "playback_terminator_used", "");
                // switch_ivr_play_file pre-answers the leg before it opens the file.
                self.pre_answer(uuid);
                let length = playback_length(arg, self.sound_file_length);
                self.start_timed(
                    uuid,
                    app,
                    arg,
                    app_uuid,
                    Some(arg.to_owned()),
                    length,
                    broadcast,
                );
                Started::Running
            }
            "say" => {
                self.execute_event(uuid, app, arg, app_uuid);
                self.set_var(uuid, "playback_terminator_used", "");
                match say_files(arg) {
                    Some(path) => {
                        self.pre_answer(uuid);
                        let length = playback_length(&path, self.sound_file_length);
                        self.start_timed(uuid, app, arg, app_uuid, Some(path), length, broadcast);
                        Started::Running
                    }
                    None => {
                        self.execute_complete_event(uuid, app, arg, "_none_", app_uuid);
                        Started::Finished
                    }
                }
            }
            "sleep" => {
                self.execute_event(uuid, app, arg, app_uuid);
                match u64::try_from(atoi(arg)).ok().filter(|ms| *ms > 0) {
                    Some(ms) => {
                        let length = Some(Duration::from_millis(ms));
                        self.start_timed(uuid, app, arg, app_uuid, None, length, broadcast);
                        Started::Running
                    }
                    None => {
                        self.execute_complete_event(uuid, app, arg, "_none_", app_uuid);
                        Started::Finished
                    }
                }
            }
            "hangup" => {
                self.execute_event(uuid, app, arg, app_uuid);
                let cause = parse_cause(arg).unwrap_or("NORMAL_CLEARING");
                let hook = Hook::AppComplete {
                    app: app.to_owned(),
                    data: arg.to_owned(),
                    app_uuid: app_uuid.to_owned(),
                };
                self.hangup(uuid, End::new(cause, Initiator::Switch), Some(hook));
                Started::Left
            }
            "park" => {
                let controlled = self
                    .chan(uuid)
                    .is_some_and(|c| c.park.is_some() || c.bridged_to.is_some());
                if broadcast || controlled {
                    // "Cannot park channels that are under control already."
                    self.execute_event(uuid, app, arg, app_uuid);
                    self.execute_complete_event(uuid, app, arg, "_none_", app_uuid);
                    Started::Finished
                } else {
                    self.park_as(uuid, app_uuid);
                    Started::Left
                }
            }
            // mod_dptools' eavesdrop on one uuid: switch_ivr_eavesdrop_session returns at once
            // when there is no such channel, else reads and writes the leg's audio until the
            // target or this leg goes (`end_eavesdrops`). The whisper/barge variables change
            // only whose audio is mixed where, which the simulator carries no audio for.
            "eavesdrop" if !broadcast => {
                self.execute_event(uuid, app, arg, app_uuid);
                if self.live(arg.trim()) {
                    self.pre_answer(uuid);
                    self.start_timed(uuid, app, arg, app_uuid, None, None, false);
                    Started::Running
                } else {
                    self.execute_complete_event(uuid, app, arg, "_none_", app_uuid);
                    Started::Finished
                }
            }
            "play_and_get_digits" => {
                if self.start_read(uuid, arg, app_uuid, broadcast) {
                    Started::Running
                } else {
                    Started::Finished
                }
            }
            "bridge" => {
                self.bridge_app(uuid, arg, app_uuid, broadcast);
                if self.chan(uuid).is_some_and(|c| c.timed.is_some()) {
                    Started::Running
                } else {
                    Started::Left
                }
            }
            "transfer" => {
                self.execute_event(uuid, app, arg, app_uuid);
                let argv = super::api::separate(arg, 4);
                let words: Vec<&str> = argv.iter().map(String::as_str).collect();
                let words = match words.first() {
                    Some(w) if w.starts_with('-') => &words[1..],
                    _ => &words[..],
                };
                if let Some(extension) = words.first() {
                    let target = self.transfer_target(
                        uuid,
                        extension,
                        words.get(1).copied(),
                        words.get(2).copied(),
                    );
                    self.begin_transfer(uuid, target);
                }
                self.execute_complete_event(uuid, app, arg, "_none_", app_uuid);
                Started::Finished
            }
            "set" | "multiset" | "unset" | "export" | "answer" | "pre_answer" | "log" | "info"
            | "ring_ready" => {
                self.simple_app(uuid, app, arg, Some(app_uuid.to_owned()));
                Started::Finished
            }
            // FreeSWITCH logs "Invalid Application" for a private command naming an
            // application it does not have, and runs nothing.
            _ if broadcast => Started::Invalid,
            // A dialplan may name any application; one the simulator does not model executes
            // and completes at once.
            _ => {
                self.simple_app(uuid, app, arg, Some(app_uuid.to_owned()));
                Started::Finished
            }
        }
    }

    /// A timed application starts: PLAYBACK_START for a file, and its end on the agenda
    /// (none for an endless stream).
    #[allow(clippy::too_many_arguments)]
    fn start_timed(
        &mut self,
        uuid: &str,
        app: &str,
        arg: &str,
        app_uuid: &str,
        file: Option<String>,
        length: Option<Duration>,
        broadcast: bool,
    ) {
        if let Some(path) = &file {
            self.fire(
                uuid,
                "PLAYBACK_START",
                origin::PLAYBACK_START,
                Vars::With,
                &[],
                &file_headers(path, None),
            );
        }
        let token = self.token();
        let started = self.micros();
        if let Some(c) = self.chan_mut(uuid) {
            c.timed = Some(Running {
                app: app.to_owned(),
                arg: arg.to_owned(),
                app_uuid: app_uuid.to_owned(),
                file,
                started,
                token,
                broadcast,
            });
        }
        if let Some(length) = length {
            self.schedule(length, Timer::AppDone(uuid.to_owned(), token));
        }
    }

    /// The agenda says the application with `token` ran out.
    pub(crate) fn app_done(&mut self, uuid: &str, token: u64) {
        let current = self
            .chan(uuid)
            .and_then(|c| c.timed.as_ref())
            .is_some_and(|r| r.token == token);
        if current && self.chan(uuid).is_some_and(|c| c.reading.is_some()) {
            self.read_timer(uuid);
        } else if current {
            self.stop_and_continue(uuid, Stop::Done);
        }
    }

    /// Ends the running application (PLAYBACK_STOP, EXECUTE_COMPLETE) and returns it.
    pub(crate) fn stop_app(&mut self, uuid: &str, stop: Stop) -> Option<Running> {
        let now = self.micros();
        if self
            .chan(uuid)
            .and_then(|c| c.timed.as_ref())
            .is_some_and(|r| r.app == "bridge")
        {
            self.bridge_app_interrupted(uuid);
        }
        let c = self.chan_mut(uuid)?;
        let running = c.timed.take()?;
        c.reading = None;
        if let Some(path) = &running.file {
            let ms = u64::try_from((now - running.started).max(0) / 1000).unwrap_or(0);
            let samples = ms * 8;
            c.vars.set("playback_last_offset_pos", samples.to_string());
            c.vars.set("playback_seconds", (ms / 1000).to_string());
            c.vars.set("playback_ms", ms.to_string());
            c.vars.set("playback_samples", samples.to_string());
            let status = if stop == Stop::Break { "break" } else { "done" };
            let path = path.clone();
            self.fire(
                uuid,
                "PLAYBACK_STOP",
                origin::PLAYBACK_STOP,
                Vars::With,
                &[],
                &file_headers(&path, Some(status)),
            );
        }
        // Only mod_dptools' playback sets a response; a break still counts as played.
        let response = match (running.app.as_str(), stop) {
            ("playback", Stop::NotReady) => "PLAYBACK ERROR",
            ("playback", _) => "FILE PLAYED",
            _ => "_none_",
        };
        if let Some(c) = self.chan_mut(uuid) {
            if running.app == "playback" {
                c.vars.set("current_application_response", response);
            }
            c.last_response = response.to_owned();
        }
        self.execute_complete_event(
            uuid,
            &running.app,
            &running.arg,
            response,
            &running.app_uuid,
        );
        Some(running)
    }

    /// Ends the running application and carries on: the private command's next turn or its
    /// end, or the extension's next application.
    pub(crate) fn stop_and_continue(&mut self, uuid: &str, stop: Stop) {
        let now = self.micros();
        let Some(running) = self.stop_app(uuid, stop) else {
            return;
        };
        if running.broadcast {
            // switch_ivr_parse_event loops again only for an application that ran 500 ms or
            // more on a leg still ready, unless the broadcast was stopped.
            if stop != Stop::NotReady && now - running.started >= 500_000 {
                self.next_iteration(uuid);
            } else {
                self.end_command(uuid);
            }
        } else if stop != Stop::NotReady {
            self.advance_extension(uuid);
        }
    }

    /// `target` went: every leg eavesdropping on it returns from `eavesdrop` and carries on
    /// with its extension (which, for an originated `&eavesdrop(...)`, then hangs up).
    pub(crate) fn end_eavesdrops(&mut self, target: &str) {
        let listeners: Vec<String> = self
            .channels
            .values()
            .filter(|c| {
                !c.down
                    && c.timed
                        .as_ref()
                        .is_some_and(|r| r.app == "eavesdrop" && r.arg.trim() == target)
            })
            .map(|c| c.uuid.clone())
            .collect();
        for uuid in listeners {
            self.stop_and_continue(&uuid, Stop::Done);
        }
    }

    /// The leg stops being ready (hangup, uuid_bridge, transfer): the running application
    /// ends with `PLAYBACK ERROR` and its private command with it.
    pub(crate) fn interrupt(&mut self, uuid: &str) {
        if self.chan(uuid).is_some_and(|c| c.timed.is_some()) {
            self.stop_app(uuid, Stop::NotReady);
        }
        if let Some(c) = self.chan_mut(uuid) {
            c.pending_apps.clear();
        }
        if self.chan(uuid).is_some_and(|c| c.command.is_some()) {
            self.end_command(uuid);
        }
    }

    /// `uuid_break <uuid> [all]`: `all` flushes the queued private events; a running
    /// application is broken (a broadcast also stops looping). False if no such leg.
    pub(crate) fn break_app(&mut self, uuid: &str, all: bool) -> bool {
        if !self.live(uuid) {
            return false;
        }
        let Some(c) = self.chan_mut(uuid) else {
            return false;
        };
        if all {
            c.queue.clear();
        }
        // A ringing or bridged `bridge` application does not stop for a break.
        if let Some(running) = c.timed.as_ref().filter(|r| r.app != "bridge") {
            if running.broadcast {
                if let Some(active) = c.command.as_mut() {
                    active.stopped = true;
                }
            }
            self.stop_and_continue(uuid, Stop::Break);
        }
        true
    }

    /// A digit reached a leg whose playback or say stops on it (`playback_terminators`).
    pub(crate) fn terminator(&mut self, uuid: &str, digit: char) {
        let Some(c) = self.chan_mut(uuid) else { return };
        let hit = c
            .timed
            .as_ref()
            .is_some_and(|r| r.app == "playback" || r.app == "say")
            && terminates(c.vars.get("playback_terminators"), digit);
        if hit {
            c.vars.set("playback_terminator_used", digit.to_string());
            self.stop_and_continue(uuid, Stop::Break);
        }
    }

    /// Where a `transfer` goes, with FreeSWITCH's defaults: the leg's own dialplan and
    /// context, else `XML` and `default`.
    pub(crate) fn transfer_target(
        &self,
        uuid: &str,
        extension: &str,
        dialplan: Option<&str>,
        context: Option<&str>,
    ) -> TransferTarget {
        let profile = self.chan(uuid).map(|c| &c.profile);
        let dialplan = dialplan
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                profile
                    .map(|p| p.dialplan.clone())
                    .filter(|d| !d.is_empty() && !d.eq_ignore_ascii_case("inline"))
            })
            .unwrap_or_else(|| "XML".into());
        let context = context
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or_else(|| profile.map(|p| p.context.clone()).filter(|c| !c.is_empty()))
            .unwrap_or_else(|| "default".into());
        let extension = if extension.is_empty() {
            "service"
        } else {
            extension
        };
        TransferTarget {
            extension: extension.to_owned(),
            dialplan,
            context,
        }
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
    fn lengths_follow_the_file_kind() {
        let file = Duration::from_millis(500);
        assert_eq!(
            playback_length("tone_stream://%(200,0,500);loops=2", file),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            playback_length("tone_stream://%(1000,4000,440);loops=-1", file),
            None
        );
        assert_eq!(playback_length("local_stream://moh", file), None);
        assert_eq!(
            playback_length("file_string://ivr/ivr-minutes.wav!local_stream://moh", file),
            None
        );
        assert_eq!(
            playback_length("file_string://a.wav!silence_stream://250", file),
            Some(file + Duration::from_millis(250))
        );
        assert_eq!(playback_length("/srv/prompt.wav", file), Some(file));
        assert_eq!(
            playback_length("file_string://digits/20.wav!digits/3.wav", file),
            Some(file * 2)
        );
        assert_eq!(
            playback_length("silence_stream://250", file),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn broadcast_legs_parse_like_mod_commands() {
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

    #[test]
    fn say_names_mod_say_en_files() {
        assert_eq!(
            say_files("en number pronounced 3").as_deref(),
            Some("file_string://digits/3.wav")
        );
        assert_eq!(
            say_files("en number pronounced 123").as_deref(),
            Some("file_string://digits/1.wav!digits/hundred.wav!digits/20.wav!digits/3.wav")
        );
        assert_eq!(
            say_files("en number pronounced 2,015").as_deref(),
            Some("file_string://digits/2.wav!digits/thousand.wav!digits/15.wav")
        );
        assert_eq!(
            say_files("en number counted 20").as_deref(),
            Some("file_string://digits/h-20.wav")
        );
        assert_eq!(
            say_files("en number iterated 42").as_deref(),
            Some("file_string://digits/4.wav!digits/2.wav")
        );
        assert_eq!(
            say_files("en items pronounced 0").as_deref(),
            Some("file_string://digits/0.wav")
        );
        assert_eq!(say_files("en number pronounced 3x"), None);
        assert_eq!(say_files("de number pronounced 3"), None);
        assert_eq!(say_files("en number"), None);
    }

    #[test]
    fn atoi_reads_the_leading_integer() {
        assert_eq!(atoi("-1"), -1);
        assert_eq!(atoi(" 3 "), 3);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(""), 0);
    }

    #[test]
    fn terminators_follow_on_dtmf() {
        assert!(terminates(None, '*'));
        assert!(!terminates(None, '1'));
        assert!(terminates(Some("any"), '1'));
        assert!(!terminates(Some("none"), '*'));
        assert!(terminates(Some("#"), '#'));
    }
}
