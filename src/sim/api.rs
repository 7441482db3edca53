//! The api commands switchdesk uses, with mod_commands' reply texts byte for byte (`+OK
//! Message sent\n`, `-ERR invalid uuid\n`, `-ERR Invalid uuid\n`, `-ERR No such channel!\n`,
//! `_undef_`, `{"row_count": 0}\n`, `-ERR <cmd> Command not found!\n`, ...). Each command fires
//! its API event as `switch_api_execute` does. Replies only; the call flows live elsewhere.

use crate::esl::wire;

use super::apps::Legs;
use super::clock;
use super::events::{self, origin, Vars};
use super::hangup::{parse_cause, End, Initiator};
use super::originate::split_args;
use super::switch::{Job, JobReply, Switch};

const SHOW_SYNTAX: &str = "codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status";

/// mod_commands' own argument splitting: `argv` holds at most `max` words, the last one keeps
/// the rest of the line.
fn separate(arg: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = arg.trim_start_matches(' ');
    while !rest.is_empty() {
        if out.len() + 1 == max {
            out.push(rest);
            break;
        }
        match rest.split_once(' ') {
            Some((word, tail)) => {
                out.push(word);
                rest = tail.trim_start_matches(' ');
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
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
                    api_event: Vec::new(),
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
            let at = self.micros();
            let mut h = events::core(&self.id, "BACKGROUND_JOB", seq, at, origin::BACKGROUND_JOB);
            h.push(("Job-UUID".into(), job_uuid));
            h.push(("Job-Command".into(), command));
            if let Some(arg) = arg {
                h.push(("Job-Command-Arg".into(), arg));
            }
            self.emit("BACKGROUND_JOB", None, h, Some(body));
        }
    }

    fn run_api(&mut self, command: &str, arg: &str) -> String {
        match command.to_ascii_lowercase().as_str() {
            "status" => self.status(),
            "version" => "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n".into(),
            "show" => self.show(arg),
            "uuid_exists" => if self.chan(arg.trim()).is_some() {
                "true"
            } else {
                "false"
            }
            .into(),
            "uuid_getvar" => self.uuid_getvar(arg),
            "uuid_setvar" => self.uuid_setvar(arg),
            "uuid_dump" => self.uuid_dump(arg),
            "uuid_answer" => {
                if self.answer(arg.trim()) {
                    "+OK\n".into()
                } else {
                    "-ERROR\n".into()
                }
            }
            "uuid_kill" => self.uuid_kill(arg),
            "uuid_break" => {
                if arg.is_empty() {
                    return "-USAGE: <uuid> [all]\n".into();
                }
                let (uuid, flag) = arg.split_once(' ').unwrap_or((arg, ""));
                if self.break_playback(uuid, flag.contains("all")) {
                    "+OK\n".into()
                } else {
                    "-ERR No such channel!\n".into()
                }
            }
            "uuid_broadcast" => {
                let argv = separate(arg, 4);
                if argv.len() < 2 {
                    return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n".into();
                }
                if self.broadcast(argv[0], argv[1], Legs::parse(argv.get(2).copied())) {
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
                if self.bridge(argv[0], argv[1]) {
                    format!("+OK {}\n", argv[1])
                } else if argv.len() > 2 && self.bridge(argv[0], argv[2]) {
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
                if !self.live(argv[0]) {
                    return "-ERR Cannot locate session!\n".into();
                }
                for digit in argv[1]
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '#'))
                {
                    self.dtmf(argv[0], digit, "APP", 2000);
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
                    .channels
                    .iter()
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
            self.channels.len(),
            self.sessions_peak,
            self.sessions_peak
        )
    }

    fn uuid_getvar(&self, arg: &str) -> String {
        let argv = separate(arg, 4);
        if argv.len() < 2 || argv[0].is_empty() {
            return "-USAGE: <uuid> <var>\n".into();
        }
        match self.chan(argv[0]) {
            Some(c) => c.vars.get(argv[1]).unwrap_or("_undef_").to_owned(),
            None => "-ERR No such channel!\n".into(),
        }
    }

    fn uuid_setvar(&mut self, arg: &str) -> String {
        let argv = separate(arg, 3);
        if !(argv.len() == 2 || argv.len() == 3) || argv[0].is_empty() {
            return "-USAGE: <uuid> <var> [value]\n".into();
        }
        let Some(c) = self.chan_mut(argv[0]) else {
            return "-ERR No such channel!\n".into();
        };
        c.vars.set(argv[1], argv.get(2).copied().unwrap_or(""));
        "+OK\n".into()
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

    /// `uuid_dump <uuid> [txt|plain|json|xml]`: a CHANNEL_DATA event serialized.
    fn uuid_dump(&mut self, arg: &str) -> String {
        let argv = separate(arg, 2);
        let Some(uuid) = argv.first().copied() else {
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
        let pairs = headers
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.as_str(), v.as_str()));
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
        let live = self.channels.iter().filter(|c| !c.down);
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
        let application = if c.park.is_some() {
            "park".to_owned()
        } else {
            var("current_application")
        };
        let application_data = if c.park.is_some() {
            String::new()
        } else {
            var("current_application_data")
        };
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
            ("presence_id", String::new()),
            ("presence_data", String::new()),
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

#[cfg(test)]
mod tests {
    use super::separate;

    #[test]
    fn the_last_word_keeps_the_rest() {
        assert_eq!(separate("u v a b c", 3), ["u", "v", "a b c"]);
        assert_eq!(separate("  u  v", 3), ["u", "v"]);
        assert!(separate("", 3).is_empty());
    }
}
