//! The api commands switchdesk uses, with mod_commands' reply texts byte for byte (`+OK
//! Message sent\n`, `-ERR invalid uuid\n`, `-ERR Invalid uuid\n`, `-ERR No such channel!\n`,
//! `_undef_`, `{"row_count": 0}\n`, `-ERR <cmd> Command not found!\n`, ...). Each command fires
//! its API event as `switch_api_execute` does. Replies only; the call flows live elsewhere.

use crate::esl::wire;

use super::apps::Legs;
use super::channel::OtherType;
use super::clock;
use super::events::{self, origin, Headers, Vars};
use super::hangup::{parse_cause, End, Initiator};
use super::originate::split_args;
use super::profile::CallerProfile;
use super::switch::{Job, JobReply, Switch};
use super::transfer::Transferred;

const SHOW_SYNTAX: &str = "codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status";

/// `switch_separate_string(buf, ' ', argv, max)`: words split on spaces, at most `max`, the
/// last keeping the rest of the line; single quotes group words and are removed, a backslash
/// escapes the next character (`\\n`, `\\t`, `\\s` for a space).
/// `switch_separate_string(vars, ';', ...)`: pieces split on `;` outside single quotes, a
/// `\` keeping the next character, then quotes and escapes removed and each piece trimmed.
fn split_pairs(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    // A piece starts at a character: nothing after the last `;` is no piece.
    let mut started = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        started = true;
        match c {
            '\\' => current.extend(chars.next()),
            '\'' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(std::mem::take(&mut current));
                started = false;
            }
            _ => current.push(c),
        }
    }
    if started {
        pieces.push(current);
    }
    pieces.into_iter().map(|p| p.trim().to_owned()).collect()
}

pub(crate) fn separate(arg: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = arg.chars().collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() && spans.len() < max {
        // START: a new word begins here; SKIP_INITIAL_SPACE.
        let start = i;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        if spans.len() + 1 == max {
            spans.push((start, chars.len()));
            break;
        }
        // FIND_DELIM
        let mut quoted = false;
        let mut end = chars.len();
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 1,
                '\'' => quoted = !quoted,
                ' ' if !quoted => {
                    end = i;
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        spans.push((start, end.min(chars.len())));
        // SKIP_ENDING_SPACE
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
    }
    spans
        .into_iter()
        .map(|(a, b)| cleanup(&chars[a..b.max(a)]))
        .collect()
}

/// `cleanup_separated_string`: leading spaces, quotes and escapes removed, trailing spaces
/// outside quotes trimmed.
fn cleanup(word: &[char]) -> String {
    let mut i = 0;
    while i < word.len() && word[i] == ' ' {
        i += 1;
    }
    let mut out = String::with_capacity(word.len());
    let mut end = 0;
    let mut quoted = false;
    while i < word.len() {
        let c = word[i];
        if c == '\\' {
            if let Some(&next) = word.get(i + 1) {
                let unescaped = match next {
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    's' => Some(' '),
                    '\'' | '"' | '\\' => Some(next),
                    _ => None,
                };
                if let Some(u) = unescaped {
                    out.push(u);
                    end = out.len();
                    i += 2;
                    continue;
                }
            }
        }
        if c == '\'' && (quoted || word[i + 1..].contains(&'\'')) {
            quoted = !quoted;
            if quoted {
                end = out.len();
            }
        } else {
            out.push(c);
            if c != ' ' || quoted {
                end = out.len();
            }
        }
        i += 1;
    }
    out.truncate(end);
    out
}

impl Switch {
    /// Runs `api`/`bgapi <command> <arg>`. For `api`, the body to send now, or `None` when the
    /// command finishes later (an originate: see `Output::Reply`). For `bgapi`, always `None`:
    /// the result comes as BACKGROUND_JOB.
    pub(crate) fn api(
        &mut self,
        command: &str,
        arg: Option<&str>,
        reply: JobReply,
    ) -> Option<String> {
        let command = command.trim();
        let arg = arg.map(str::trim).filter(|a| !a.is_empty());
        let api_event = self.api_event(command, arg);
        if command.eq_ignore_ascii_case("originate") {
            self.originate(arg.unwrap_or(""), Job { reply, api_event });
            return None;
        }
        self.emit("API", None, api_event, None);
        let mut body = self.run_api(command, arg.unwrap_or(""));
        if body.is_empty() {
            body = "-ERR no reply\n".into();
        }
        match reply {
            JobReply::Api(_) => Some(body),
            JobReply::Background { .. } => {
                // The API event was fired already; deliver only the job.
                let job = Job {
                    reply,
                    api_event: Headers::default(),
                };
                self.finish_background(job, body);
                None
            }
        }
    }

    fn finish_background(&mut self, job: Job, body: String) {
        if let JobReply::Background {
            job_uuid,
            command,
            arg,
        } = job.reply
        {
            let seq = self.next_seq();
            if !self.wanted("BACKGROUND_JOB") {
                return;
            }
            let at = self.micros();
            let mut h = events::core(&self.id, "BACKGROUND_JOB", seq, at, origin::BACKGROUND_JOB);
            h.push("Job-UUID", &job_uuid);
            h.push("Job-Command", &command);
            if let Some(arg) = arg {
                h.push("Job-Command-Arg", &arg);
            }
            self.emit("BACKGROUND_JOB", None, h, Some(body));
        }
    }

    fn run_api(&mut self, command: &str, arg: &str) -> String {
        match command.to_ascii_lowercase().as_str() {
            "status" => self.status(),
            "version" => "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n".into(),
            "show" => self.show(arg),
            // A leg that is down (lingering in CS_REPORTING) is refused its read lock.
            "uuid_exists" => if self.chan(arg.trim()).is_some_and(|c| !c.down) {
                "true"
            } else {
                "false"
            }
            .into(),
            "uuid_getvar" => self.uuid_getvar(arg),
            "uuid_setvar" => self.uuid_setvar(arg),
            "uuid_setvar_multi" => self.uuid_setvar_multi(arg),
            "uuid_dump" => self.uuid_dump(arg),
            "uuid_answer" => {
                if self.answer(arg.trim()) {
                    "+OK\n".into()
                } else {
                    "-ERROR\n".into()
                }
            }
            "uuid_kill" => self.uuid_kill(arg),
            "uuid_break" => self.uuid_break(arg),
            "uuid_transfer" => self.uuid_transfer(arg),
            "uuid_broadcast" => {
                let argv = separate(arg, 4);
                if argv.len() < 2 {
                    return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n".into();
                }
                let legs = Legs::parse(argv.get(2).map(String::as_str));
                if self.broadcast(&argv[0], &argv[1], legs) {
                    "+OK Message sent\n".into()
                } else {
                    "-ERR invalid uuid\n".into()
                }
            }
            "uuid_bridge" => {
                let argv = separate(arg, 4);
                if argv.len() < 2 {
                    return "-USAGE: <uuid> <other_uuid>\n".into();
                }
                if self.bridge(&argv[0], &argv[1]) {
                    format!("+OK {}\n", argv[1])
                } else if argv.len() > 2 && self.bridge(&argv[0], &argv[2]) {
                    format!("+OK {}\n", argv[2])
                } else {
                    "-ERR Invalid uuid\n".into()
                }
            }
            "uuid_recv_dtmf" => {
                let argv = separate(arg, 2);
                if argv.len() < 2 {
                    return "-USAGE: <uuid> <dtmf_data>\n".into();
                }
                if !self.live(&argv[0]) {
                    return "-ERR Cannot locate session!\n".into();
                }
                for digit in argv[1]
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '#'))
                {
                    self.dtmf(&argv[0], digit, "APP", 2000);
                }
                format!("+OK {} received DTMF {}.\n", argv[0], argv[1])
            }
            "hupall" => {
                let argv = separate(arg, 11);
                let cause = argv
                    .first()
                    .and_then(|c| parse_cause(c))
                    .unwrap_or("MANAGER_REQUEST");
                let uuids: Vec<String> = self
                    .all_channels()
                    .filter(|c| !c.down)
                    .map(|c| c.uuid.clone())
                    .collect();
                for uuid in uuids {
                    self.hangup(&uuid, End::new(cause, Initiator::Switch), None);
                }
                format!("+OK hangup all channels with cause {cause}\n")
            }
            _ => format!("-ERR {command} Command not found!\n"),
        }
    }

    fn status(&self) -> String {
        let uptime = self.clock.uptime(self.now);
        format!(
            "UP {}\nFreeSWITCH (Version 1.10.12-release  64bit) is ready\n{} session(s) since startup\n{} session(s) - peak {}, last 5min {} \n0 session(s) per Sec out of max 30, peak 1, last 5min 1 \n1000 session(s) max\nmin idle cpu 0.00/97.20\nCurrent Stack Size/Max 240K/8192K\n",
            clock::uptime_words(uptime),
            self.sessions_total,
            self.channel_count(),
            self.sessions_peak,
            self.sessions_peak
        )
    }

    /// `uuid_getvar`: the channel variable; else, as `switch_channel_get_variable_dup` falls
    /// back, a caller profile field (`aleg_`/`bleg_` for the originator/originatee) or a
    /// global variable; else `_undef_`.
    fn uuid_getvar(&self, arg: &str) -> String {
        let argv = separate(arg, 4);
        if argv.len() < 2 || argv[0].is_empty() {
            return "-USAGE: <uuid> <var>\n".into();
        }
        let Some(c) = self.chan(&argv[0]) else {
            return "-ERR No such channel!\n".into();
        };
        let name = argv[1].as_str();
        if name.is_empty() {
            return "-ERR No variable name specified!\n".into();
        }
        if let Some(value) = c.vars.get(name) {
            return value.to_owned();
        }
        let (profile, field) = if let Some(field) = name.strip_prefix("aleg_") {
            (self.related_profile(c, OtherType::Originator), field)
        } else if let Some(field) = name.strip_prefix("bleg_") {
            (self.related_profile(c, OtherType::Originatee), field)
        } else {
            (Some(&c.profile), name)
        };
        if let Some(value) = profile.and_then(|p| profile_field(p, field)) {
            return value;
        }
        match name {
            "hostname" => self.id.hostname.clone(),
            "core_uuid" => self.id.core_uuid.clone(),
            "local_ip_v4" => "127.0.0.1".into(),
            _ => "_undef_".into(),
        }
    }

    /// The originator or originatee profile the leg's current profile carries.
    fn related_profile<'a>(
        &self,
        c: &'a super::channel::Channel,
        kind: OtherType,
    ) -> Option<&'a CallerProfile> {
        c.other.as_ref().filter(|(k, _)| *k == kind).map(|(_, p)| p)
    }

    fn uuid_setvar(&mut self, arg: &str) -> String {
        let argv = separate(arg, 3);
        if !(argv.len() == 2 || argv.len() == 3) || argv[0].is_empty() {
            return "-USAGE: <uuid> <var> [value]\n".into();
        }
        let Some(c) = self.chan_mut(&argv[0]) else {
            return "-ERR No such channel!\n".into();
        };
        if argv[1].is_empty() {
            return "-ERR No variable specified\n".into();
        }
        c.vars
            .set(&argv[1], argv.get(2).map(String::as_str).unwrap_or(""));
        "+OK\n".into()
    }

    /// `uuid_setvar_multi <uuid> <var>=<value>;<var>=<value>...` as mod_commands 1.10.12 has
    /// it: pairs split on `;` (quotes and `\` escape it; spaces around a pair dropped), each at
    /// its first `=`; a value holding `${` is refused (logged by the switch, still `+OK`), an
    /// empty one unsets. Its quirks kept: no space after the uuid answers nothing at all, and
    /// a missing channel or no variable set is followed by the usage line.
    fn uuid_setvar_multi(&mut self, arg: &str) -> String {
        const USAGE: &str = "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n";
        if arg.is_empty() {
            return USAGE.into();
        }
        let Some((uuid, vars)) = arg.split_once(' ') else {
            return String::new();
        };
        if !self.live(uuid) {
            return format!("-ERR No such channel!\n{USAGE}");
        }
        let mut out = String::new();
        let mut set = 0;
        for pair in split_pairs(vars) {
            let (name, value) = pair.split_once('=').unwrap_or((pair.as_str(), ""));
            if name.is_empty() {
                out.push_str("-ERR No variable specified\n");
                continue;
            }
            set += 1;
            if value.contains("${") {
                continue;
            }
            if let Some(c) = self.chan_mut(uuid) {
                c.vars.set(name, value);
            }
        }
        out.push_str(if set > 0 { "+OK\n" } else { USAGE });
        out
    }

    fn uuid_kill(&mut self, arg: &str) -> String {
        if arg.is_empty() {
            return "-USAGE: <uuid> [cause]\n".into();
        }
        let (uuid, cause) = arg.split_once(' ').unwrap_or((arg, ""));
        if !self.live(uuid) {
            return "-ERR No such channel!\n".into();
        }
        let cause = parse_cause(cause).unwrap_or("NORMAL_CLEARING");
        self.hangup(uuid, End::new(cause, Initiator::Switch), None);
        "+OK\n".into()
    }

    /// `uuid_break <uuid> [all] [both]` (mod_commands `break_function`).
    fn uuid_break(&mut self, arg: &str) -> String {
        if arg.is_empty() {
            return "-USAGE: <uuid> [all]\n".into();
        }
        let (uuid, flag) = arg.split_once(' ').unwrap_or((arg, ""));
        if !self.live(uuid) {
            return "-ERR No such channel!\n".into();
        }
        let all = flag.contains("all");
        let partner = flag
            .contains("both")
            .then(|| self.chan(uuid).and_then(|c| c.bridged_to.clone()))
            .flatten();
        self.break_app(uuid, all);
        if let Some(partner) = partner {
            self.break_app(&partner, all);
        }
        "+OK\n".into()
    }

    /// `uuid_transfer <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]`
    /// (mod_commands `transfer_function`).
    fn uuid_transfer(&mut self, arg: &str) -> String {
        const USAGE: &str = "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n";
        let argv = separate(arg, 5);
        if argv.len() < 2 || argv.len() > 5 {
            return USAGE.into();
        }
        if argv[0].is_empty() || !self.live(&argv[0]) {
            return "-ERR No such channel!\n".into();
        }
        let word = |i: usize| argv.get(i).map(String::as_str);
        let (flag, dest, dialplan, context) = match argv[1].strip_prefix('-') {
            Some(flag) => (Some(flag), word(2), word(3), word(4)),
            None => (None, word(1), word(2), word(3)),
        };
        match self.transfer(&argv[0], flag, dest.unwrap_or(""), dialplan, context) {
            Transferred::Ok => "+OK\n".into(),
            Transferred::Refused => "-ERR\n".into(),
            Transferred::NoSuchChannel => "-ERR No such channel!\n".into(),
        }
    }

    /// `uuid_dump <uuid> [txt|plain|json|xml]`: a CHANNEL_DATA event serialized.
    fn uuid_dump(&mut self, arg: &str) -> String {
        let argv = separate(arg, 2);
        let Some(uuid) = argv.first().map(String::as_str) else {
            return "-USAGE: <uuid> [format]\n".into();
        };
        if self.chan(uuid).is_none() {
            return "-ERR No such channel!\n".into();
        }
        let seq = self.next_seq();
        let at = self.micros();
        let Some(chan) = self.chan(uuid) else {
            return "-ERR No such channel!\n".into();
        };
        let headers = events::channel_event(
            &self.id,
            events::Head {
                name: "CHANNEL_DATA",
                seq,
                at,
                origin: origin::CHANNEL_DATA,
            },
            chan,
            Vars::With,
            &[],
            &[],
        );
        let pairs = headers.iter();
        let bytes = match argv.get(1).map(|f| f.to_ascii_lowercase()).as_deref() {
            Some("json") => wire::json_event(pairs, None),
            Some("xml") => wire::xml_event(pairs, None),
            Some("plain") => {
                let mut out = String::new();
                for (n, v) in pairs {
                    out.push_str(&format!("{n}: {v}\n"));
                }
                out.push('\n');
                out.into_bytes()
            }
            _ => wire::plain_event(pairs, None),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// `show channels [as json]` and `show calls [as json]` (one row per call, its B leg's
    /// columns `b_*`).
    fn show(&self, arg: &str) -> String {
        let words = split_args(arg);
        let Some(what) = words.first().map(|w| w.to_ascii_lowercase()) else {
            return format!("-USAGE: {SHOW_SYNTAX}\n");
        };
        if what != "channels" && what != "calls" {
            return format!("-USAGE: {SHOW_SYNTAX}\n");
        }
        let json = words.len() >= 3
            && words[1].eq_ignore_ascii_case("as")
            && words[2].eq_ignore_ascii_case("json");
        let live = self.all_channels().filter(|c| !c.down);
        let rows: Vec<Vec<(&str, String)>> = if what == "channels" {
            live.map(|c| self.channel_row(c)).collect()
        } else {
            live.filter(|c| c.bridged_to.is_none() || c.bridge_a)
                .map(|c| self.call_row(c))
                .collect()
        };
        if json {
            if rows.is_empty() {
                return "{\"row_count\": 0}\n".into();
            }
            let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
            let rows: Vec<String> = rows
                .iter()
                .map(|row| {
                    format!(
                        "{{{}}}",
                        row.iter()
                            .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                })
                .collect();
            return format!(
                "{{\"row_count\":{},\"rows\":[{}]}}",
                rows.len(),
                rows.join(",")
            );
        }
        if rows.is_empty() {
            return "\n0 total.\n".into();
        }
        let mut out = rows[0]
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for row in &rows {
            out.push_str(
                &row.iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        out.push_str(&format!("\n{} total.\n", rows.len()));
        out
    }

    /// One row of the core database's `calls` view: the A leg and, once bridged, the B leg.
    fn call_row(&self, c: &super::channel::Channel) -> Vec<(&'static str, String)> {
        const A: [&str; 21] = [
            "uuid",
            "direction",
            "created",
            "created_epoch",
            "name",
            "state",
            "cid_name",
            "cid_num",
            "ip_addr",
            "dest",
            "presence_id",
            "presence_data",
            "accountcode",
            "callstate",
            "callee_name",
            "callee_num",
            "callee_direction",
            "call_uuid",
            "hostname",
            "sent_callee_name",
            "sent_callee_num",
        ];
        let pick = |row: &[(&'static str, String)], key: &str| {
            row.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let own = self.channel_row(c);
        let partner = c
            .bridged_to
            .as_deref()
            .and_then(|b| self.chan(b))
            .map(|b| self.channel_row(b));
        let mut row: Vec<(&'static str, String)> = A.iter().map(|k| (*k, pick(&own, k))).collect();
        let b_keys = [
            "b_uuid",
            "b_direction",
            "b_created",
            "b_created_epoch",
            "b_name",
            "b_state",
            "b_cid_name",
            "b_cid_num",
            "b_ip_addr",
            "b_dest",
            "b_presence_id",
            "b_presence_data",
            "b_accountcode",
            "b_callstate",
            "b_callee_name",
            "b_callee_num",
            "b_callee_direction",
            "b_sent_callee_name",
            "b_sent_callee_num",
        ];
        for b_key in b_keys {
            let key = b_key.trim_start_matches("b_");
            row.push((
                b_key,
                partner.as_ref().map(|p| pick(p, key)).unwrap_or_default(),
            ));
        }
        let bridged = if c.profile.times.bridged != 0 && partner.is_some() {
            clock::epoch_secs(c.profile.times.bridged).to_string()
        } else {
            String::new()
        };
        row.push(("call_created_epoch", bridged));
        row
    }

    /// One row of the core database's `channels` table.
    fn channel_row(&self, c: &super::channel::Channel) -> Vec<(&'static str, String)> {
        let p = &c.profile;
        let initial = c.history.first().map_or(p, |f| &f.profile);
        let codec =
            |f: fn(&super::channel::Codec) -> String| c.codec.as_ref().map(f).unwrap_or_default();
        let var = |n: &str| c.vars.get(n).unwrap_or("").to_owned();
        // The core database updates these columns on every CHANNEL_EXECUTE: a parked caller
        // shows `park` until a broadcast runs `playback` on it, and so on.
        let (application, application_data) = c.last_execute.clone();
        vec![
            ("uuid", c.uuid.clone()),
            ("direction", c.direction.as_str().into()),
            ("created", clock::local(p.times.created)),
            (
                "created_epoch",
                clock::epoch_secs(p.times.created).to_string(),
            ),
            ("name", c.name.clone()),
            ("state", c.running.name().into()),
            ("cid_name", p.caller_id_name.clone()),
            ("cid_num", p.caller_id_number.clone()),
            ("ip_addr", p.network_addr.clone()),
            ("dest", p.destination_number.clone()),
            ("application", application),
            ("application_data", application_data),
            ("dialplan", p.dialplan.clone()),
            ("context", p.context.clone()),
            ("read_codec", codec(|k| k.name.to_owned())),
            ("read_rate", codec(|k| k.rate.to_string())),
            ("read_bit_rate", codec(|k| k.bit_rate.to_string())),
            ("write_codec", codec(|k| k.name.to_owned())),
            ("write_rate", codec(|k| k.rate.to_string())),
            ("write_bit_rate", codec(|k| k.bit_rate.to_string())),
            ("secure", String::new()),
            ("hostname", self.id.hostname.clone()),
            ("presence_id", var("presence_id")),
            ("presence_data", var("presence_data")),
            ("accountcode", String::new()),
            ("callstate", c.callstate.name().into()),
            (
                "callee_name",
                if c.bridged_to.is_some() {
                    p.callee_id_name.clone()
                } else {
                    String::new()
                },
            ),
            (
                "callee_num",
                if c.bridged_to.is_some() {
                    p.callee_id_number.clone()
                } else {
                    String::new()
                },
            ),
            (
                "callee_direction",
                if c.bridged_to.is_some() {
                    "SEND".into()
                } else {
                    String::new()
                },
            ),
            (
                "call_uuid",
                c.bridged_to
                    .as_ref()
                    .map(|_| var("call_uuid"))
                    .unwrap_or_default(),
            ),
            ("sent_callee_name", var("last_sent_callee_id_name")),
            ("sent_callee_num", var("last_sent_callee_id_number")),
            ("initial_cid_name", initial.caller_id_name.clone()),
            ("initial_cid_num", initial.caller_id_number.clone()),
            ("initial_ip_addr", initial.network_addr.clone()),
            ("initial_dest", initial.destination_number.clone()),
            ("initial_dialplan", initial.dialplan.clone()),
            ("initial_context", initial.context.clone()),
        ]
    }
}

/// `switch_caller_get_field_by_name`: a caller profile field under its variable name (an
/// empty field still answers, with an empty value).
fn profile_field(p: &CallerProfile, name: &str) -> Option<String> {
    let t = &p.times;
    let text = |s: &str| Some(s.to_owned());
    match name.to_ascii_lowercase().as_str() {
        "dialplan" => text(&p.dialplan),
        "username" => text(&p.username),
        "caller_id_name" => text(&p.caller_id_name),
        "caller_id_number" => text(&p.caller_id_number),
        "orig_caller_id_name" => text(&p.orig_caller_id_name),
        "orig_caller_id_number" => text(&p.orig_caller_id_number),
        "callee_id_name" => text(&p.callee_id_name),
        "callee_id_number" => text(&p.callee_id_number),
        "ani" => text(&p.ani),
        "aniii" => text(""),
        "network_addr" => text(&p.network_addr),
        "rdnis" => text(&p.rdnis),
        "destination_number" => text(&p.destination_number),
        "uuid" => text(&p.uuid),
        "source" => text(&p.source),
        "transfer_source" => text(&p.transfer_source),
        "context" => text(&p.context),
        "chan_name" => text(&p.chan_name),
        "profile_index" => p.profile_index.map(|i| i.to_string()),
        "caller_ton"
        | "caller_numplan"
        | "destination_number_ton"
        | "destination_number_numplan"
        | "ani_ton"
        | "ani_numplan"
        | "rdnis_ton"
        | "rdnis_numplan" => text("0"),
        "screen_bit" => text("true"),
        "privacy_hide_name" | "privacy_hide_number" => text("false"),
        "profile_created_time" => Some(t.profile_created.to_string()),
        "created_time" => Some(t.created.to_string()),
        "answered_time" => Some(t.answered.to_string()),
        "progress_time" => Some(t.progress.to_string()),
        "progress_media_time" => Some(t.progress_media.to_string()),
        "hungup_time" => Some(t.hungup.to_string()),
        "transferred_time" => Some(t.transferred.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::separate;

    #[test]
    fn the_last_word_keeps_the_rest() {
        assert_eq!(separate("u v a b c", 3), ["u", "v", "a b c"]);
        assert_eq!(separate("  u  v", 3), ["u", "v"]);
        assert!(separate("", 3).is_empty());
        assert_eq!(separate("u v 'a b' c", 4), ["u", "v", "a b", "c"]);
        assert_eq!(separate("u v 'a b'", 3), ["u", "v", "a b"]);
        assert_eq!(separate("u note it's", 3), ["u", "note", "it's"]);
        assert_eq!(separate("u v a\\sb", 3), ["u", "v", "a b"]);
        assert_eq!(separate("u v two  words ", 3), ["u", "v", "two  words"]);
    }
}
