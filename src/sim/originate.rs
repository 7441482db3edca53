//! `originate`: the dial string (`{vars}[vars]endpoint`, quoting, the parse error a bare space
//! causes), endpoint resolution against registered agent endpoints, and the outbound leg's life
//! up to its result (`+OK <uuid>`, `-ERR USER_BUSY`, `-ERR NO_ANSWER`, `-ERR
//! USER_NOT_REGISTERED`, `-ERR NORMAL_TEMPORARY_FAILURE`), then the `&app()` it runs.

use std::time::Duration;

use super::channel::{CallState, Channel, Extension, State};
use super::events::{origin, Vars};
use super::hangup::{End, Initiator};
use super::profile::Direction;
use super::spec::AgentBehaviour;
use super::switch::{AgentLeg, Job, Role, Switch, Timer};

/// The directory's default domain (`$${domain}`, the lab's `local_ip_v4`).
const DEFAULT_DOMAIN: &str = "127.0.0.1";

pub(crate) const ORIGINATE_SYNTAX: &str =
    "<call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]";

/// Splits on spaces as `switch_separate_string` does: single quotes group words (and stay).
pub(crate) fn split_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A parsed dial string: the channel variables and the endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dial {
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) endpoint: String,
}

/// `{a=1,b='x y'}[c=2]sofia/...`; an unterminated group is the "Parse Error!" that ends in
/// DESTINATION_OUT_OF_ORDER (capture 07x).
pub(crate) fn parse_dial_string(text: &str) -> Result<Dial, &'static str> {
    let mut vars = Vec::new();
    let mut rest = text.trim();
    while let Some(open) = rest.chars().next().filter(|c| matches!(c, '{' | '[' | '<')) {
        let close = match open {
            '{' => '}',
            '[' => ']',
            _ => '>',
        };
        let mut quoted = false;
        let mut end = None;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                '\'' => quoted = !quoted,
                c if c == close && !quoted => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Err("DESTINATION_OUT_OF_ORDER");
        };
        for pair in split_outside_quotes(&rest[1..end], ',') {
            if let Some((name, value)) = pair.split_once('=') {
                let value = value.trim();
                let value = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .unwrap_or(value);
                vars.push((name.trim().to_owned(), value.to_owned()));
            }
        }
        rest = &rest[end + close.len_utf8()..];
    }
    // Several endpoints (`,` simultaneous, `|` in turn): the simulator rings the first.
    let endpoint = rest
        .split([',', '|'])
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if endpoint.is_empty() {
        return Err("DESTINATION_OUT_OF_ORDER");
    }
    Ok(Dial { vars, endpoint })
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// Where a sofia leg goes: channel name, profile, destination user, host[:port], and the
/// variables a `user/` endpoint's directory lookup adds.
struct SofiaLeg {
    name: String,
    profile: String,
    user: String,
    host: String,
    vars: Vec<(String, String)>,
}

/// Who places the call: the originate caller id.
pub(crate) struct CallerId {
    pub(crate) name: String,
    pub(crate) number: String,
}

/// Who waits for a leg: an originate's job and `&app()`, or the caller whose `bridge`
/// application placed it.
pub(crate) struct Placed {
    pub(crate) job: Option<Job>,
    pub(crate) app: (String, String),
    pub(crate) for_caller: Option<String>,
}

enum Target {
    Sofia(SofiaLeg),
    Failed(&'static str),
}

impl Switch {
    /// `originate <dial string> <&app(arg)|exten> [...]`; the result goes to `job`.
    pub(crate) fn originate(&mut self, arg: &str, job: Job) {
        let argv: Vec<String> = split_args(arg)
            .into_iter()
            .map(|a| {
                if a.eq_ignore_ascii_case("undef") {
                    String::new()
                } else {
                    a
                }
            })
            .collect();
        if argv.len() < 2 || argv.len() > 7 {
            self.finish_job(job, format!("-USAGE: {ORIGINATE_SYNTAX}\n"));
            return;
        }
        let dial = match parse_dial_string(&argv[0]) {
            Ok(dial) => dial,
            Err(cause) => {
                self.finish_job(job, format!("-ERR {cause}\n"));
                return;
            }
        };
        let var = |name: &str| {
            dial.vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let arg_at = |i: usize| argv.get(i).filter(|a| !a.is_empty()).cloned();
        let timeout = var("originate_timeout")
            .or_else(|| arg_at(6))
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| *t > 0)
            .map_or(self.originate_timeout, Duration::from_secs);
        let cid_name = var("origination_caller_id_name")
            .or_else(|| arg_at(4))
            .unwrap_or_default();
        let cid_number = var("origination_caller_id_number")
            .or_else(|| arg_at(5))
            .unwrap_or_else(|| "0000000000".into());
        let app = match argv[1].strip_prefix('&') {
            Some(app) => {
                let (name, rest) = app.split_once('(').unwrap_or((app, ""));
                (name.to_owned(), rest.trim_end_matches(')').to_owned())
            }
            None => ("transfer".to_owned(), argv[1].clone()),
        };

        let caller_id = CallerId {
            name: cid_name,
            number: cid_number,
        };
        let mut leg = Placed {
            job: Some(job),
            app,
            for_caller: None,
        };
        let placed = self.place_leg(&dial, &caller_id, (timeout, "NO_ANSWER"), &mut leg);
        if let (Err(cause), Some(job)) = (placed, leg.job.take()) {
            self.finish_job(job, format!("-ERR {cause}\n"));
        }
    }

    /// Starts the outbound leg of a dial string and puts its fate on the agenda; `timeout`
    /// is how long it may ring and the cause it then ends with. Fails (leaving the job in
    /// `placed`) when no channel could be made.
    pub(crate) fn place_leg(
        &mut self,
        dial: &Dial,
        caller_id: &CallerId,
        timeout: (Duration, &'static str),
        placed: &mut Placed,
    ) -> Result<String, &'static str> {
        let leg = match self.resolve(&dial.endpoint) {
            Target::Failed(cause) => return Err(cause),
            Target::Sofia(leg) => leg,
        };
        let behaviour = self
            .behaviour(&dial.endpoint)
            .cloned()
            .map(|b| self.pick(b));
        if matches!(behaviour, Some(AgentBehaviour::Unregistered)) {
            return Err("USER_NOT_REGISTERED");
        }
        let var = |name: &str| {
            dial.vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let uuid = match var("origination_uuid") {
            Some(uuid) if self.chan(&uuid).is_some() => {
                return Err("DESTINATION_OUT_OF_ORDER");
            }
            Some(uuid) => uuid,
            None => self.rng.uuid(),
        };
        let talk = match &behaviour {
            Some(AgentBehaviour::Answer { talk, .. }) => *talk,
            _ => None,
        };
        self.outbound_leg(&uuid, &leg, &dial.vars, caller_id);
        let app = placed.app.clone();
        if app.0 != "transfer" && placed.for_caller.is_none() {
            // `&app(arg)` runs as a one-application extension named after the app.
            if let Some(c) = self.chan_mut(&uuid) {
                c.flow.extension = Some(Extension {
                    name: app.0.clone(),
                    number: String::new(),
                    apps: vec![app.clone()],
                });
            }
        }
        self.roles.insert(
            uuid.clone(),
            Role::Agent(AgentLeg {
                job: placed.job.take(),
                talk,
                app,
                for_caller: placed.for_caller.clone(),
            }),
        );
        let (timeout, cause) = timeout;
        let give_up = Timer::OriginateTimeout(uuid.clone(), cause);
        match behaviour {
            Some(AgentBehaviour::Answer { ring, .. }) => {
                self.ring(&uuid);
                if ring < timeout {
                    self.schedule(ring, Timer::AgentAnswer(uuid.clone()));
                } else {
                    self.schedule(timeout, give_up);
                }
            }
            Some(AgentBehaviour::NoAnswer) => {
                self.ring(&uuid);
                self.schedule(timeout, give_up);
            }
            Some(AgentBehaviour::Busy) => self.schedule(
                Duration::from_millis(20),
                Timer::AgentFail(uuid.clone(), "USER_BUSY"),
            ),
            // No such registration on a sofia target: the request goes nowhere (capture 04).
            _ => self.schedule(
                Duration::from_millis(40),
                Timer::AgentFail(uuid.clone(), "NORMAL_TEMPORARY_FAILURE"),
            ),
        }
        Ok(uuid)
    }

    /// A `Random` behaviour resolved with the seeded RNG.
    fn pick(&mut self, behaviour: AgentBehaviour) -> AgentBehaviour {
        let mut behaviour = behaviour;
        for _ in 0..8 {
            match behaviour {
                AgentBehaviour::Random(choices) => {
                    let weights: Vec<u32> = choices.iter().map(|(w, _)| *w).collect();
                    let Some(i) = self.rng.weighted(&weights) else {
                        return AgentBehaviour::NoAnswer;
                    };
                    behaviour = choices
                        .into_iter()
                        .nth(i)
                        .map_or(AgentBehaviour::NoAnswer, |(_, b)| b);
                }
                other => return other,
            }
        }
        AgentBehaviour::NoAnswer
    }

    fn resolve(&self, endpoint: &str) -> Target {
        if let Some(cause) = endpoint.strip_prefix("error/") {
            return Target::Failed(super::hangup::parse_cause(cause).unwrap_or("NORMAL_CLEARING"));
        }
        if let Some(user) = endpoint.strip_prefix("user/") {
            let (ext, domain) = user.split_once('@').unwrap_or((user, DEFAULT_DOMAIN));
            let registered = self
                .behaviour(endpoint)
                .is_some_and(|b| !matches!(b, AgentBehaviour::Unregistered));
            if ext.is_empty() || !registered {
                return Target::Failed("USER_NOT_REGISTERED");
            }
            // mod_dptools' user channel: `dialed_user`/`dialed_domain`, then the vanilla
            // directory's dial-string `{^^:sip_invite_domain=...:presence_id=...}`.
            let vars = [
                ("dialed_user", ext.to_owned()),
                ("dialed_domain", domain.to_owned()),
                ("sip_invite_domain", domain.to_owned()),
                ("presence_id", format!("{ext}@{domain}")),
            ];
            return Target::Sofia(SofiaLeg {
                name: format!("sofia/internal/{ext}@127.0.0.1:5062"),
                profile: "internal".into(),
                user: ext.to_owned(),
                host: "127.0.0.1:5062".into(),
                vars: vars.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
            });
        }
        if let Some(rest) = endpoint.strip_prefix("sofia/") {
            let Some((profile, target)) = rest.split_once('/') else {
                return Target::Failed("DESTINATION_OUT_OF_ORDER");
            };
            let (user, host) = target.split_once('@').unwrap_or((target, "127.0.0.1"));
            return Target::Sofia(SofiaLeg {
                name: endpoint.to_owned(),
                profile: profile.to_owned(),
                user: user.to_owned(),
                host: host.to_owned(),
                vars: Vec::new(),
            });
        }
        Target::Failed("CHAN_NOT_IMPLEMENTED")
    }

    /// Creates the outbound leg: OUTGOING, CS_INIT, CREATE, ORIGINATE, CS_ROUTING,
    /// CS_CONSUME_MEDIA (capture 02 step 2).
    fn outbound_leg(
        &mut self,
        uuid: &str,
        leg: &SofiaLeg,
        dial_vars: &[(String, String)],
        caller_id: &CallerId,
    ) {
        let SofiaLeg {
            name,
            profile,
            user,
            host,
            vars: endpoint_vars,
        } = leg;
        let (cid_name, cid_number) = (caller_id.name.as_str(), caller_id.number.as_str());
        let flow_id = self.rng.uuid();
        let session_id = self.next_session_id();
        let now = self.micros();
        let mut chan = Channel::new(
            uuid.to_owned(),
            name.to_owned(),
            Direction::Outbound,
            flow_id,
        );
        chan.profile_set = true;
        chan.running = State::None;
        chan.state = State::Init;
        let p = &mut chan.profile;
        p.caller_id_name = cid_name.to_owned();
        p.caller_id_number = cid_number.to_owned();
        p.orig_caller_id_name = cid_name.to_owned();
        p.orig_caller_id_number = cid_number.to_owned();
        p.callee_id_name = "Outbound Call".into();
        p.callee_id_number = user.to_owned();
        p.ani = cid_number.to_owned();
        p.destination_number = user.to_owned();
        p.source = "src/switch_ivr_originate.c".into();
        p.context = "default".into();
        p.times.created = now;
        p.times.profile_created = now;

        let local_port = 2 * self.rng.range(8192..16384);
        let stamp = self.rng.range(1_700_000_000..1_800_000_000);
        let early = !dial_vars
            .iter()
            .any(|(n, v)| n == "ignore_early_media" && v == "true");
        let v = &mut chan.vars;
        v.set("direction", "outbound");
        v.set("is_outbound", "true");
        v.set("uuid", uuid);
        v.set("call_uuid", uuid);
        v.set("session_id", session_id.to_string());
        v.set("sip_profile_name", profile);
        v.set("video_media_flow", "disabled");
        v.set("text_media_flow", "disabled");
        v.set("channel_name", name);
        v.set("sip_destination_url", format!("sip:{user}@{host}"));
        v.set("sip_local_network_addr", "127.0.0.1");
        for (n, value) in dial_vars.iter().chain(endpoint_vars) {
            v.set(n, value.clone());
        }
        v.set(
            "originate_early_media",
            if early { "true" } else { "false" },
        );
        v.set("originate_endpoint", "sofia");
        v.set("rtp_use_codec_string", "PCMU,PCMA");
        v.set("local_media_ip", "127.0.0.1");
        v.set("local_media_port", local_port.to_string());
        v.set("advertised_media_ip", "127.0.0.1");
        v.set("audio_media_flow", "sendrecv");
        v.set(
            "rtp_local_sdp_str",
            format!(
                "v=0\r\no=FreeSWITCH {stamp} {} IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {local_port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
                stamp + 1
            ),
        );
        v.set("sip_outgoing_contact_uri", "<sip:mod_sofia@127.0.0.1:5080>");
        v.set("sip_req_uri", format!("{user}@{host}"));
        v.set("sip_to_host", host);
        v.set("sip_from_host", "127.0.0.1");
        v.set("sofia_profile_name", profile);
        v.set("recovery_profile_name", profile);
        v.set("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5080");
        chan.flow.profile = chan.profile.clone();
        self.add_channel(chan);

        self.fire(
            uuid,
            "CHANNEL_OUTGOING",
            origin::OUTGOING,
            Vars::Without,
            &[],
            &[],
        );
        self.set_state(uuid, State::Init, State::Init);
        if let Some(c) = self.chan_mut(uuid) {
            c.state = State::Routing;
        }
        self.fire(uuid, "CHANNEL_CREATE", origin::CREATE, Vars::With, &[], &[]);
        self.fire(
            uuid,
            "CHANNEL_ORIGINATE",
            origin::ORIGINATE,
            Vars::With,
            &[],
            &[],
        );
        self.set_state(uuid, State::Routing, State::Routing);
        self.set_state(uuid, State::ConsumeMedia, State::ConsumeMedia);
    }

    /// The far end's first SIP reply arrived: where it came from.
    fn far_end_replied(&mut self, uuid: &str) {
        let call_id = format!(
            "{}-{}-{}",
            self.rng.token(8),
            self.rng.range(1000..9999),
            self.rng.token(12)
        );
        let to_tag = format!(
            "{}SIPpTag0{}",
            self.rng.range(1000..9999),
            self.rng.range(10..99)
        );
        let Some(c) = self.chan_mut(uuid) else { return };
        if !c.profile.network_addr.is_empty() {
            return;
        }
        let host = c.vars.get("sip_to_host").unwrap_or("127.0.0.1").to_owned();
        let (ip, port) = host.split_once(':').unwrap_or((host.as_str(), "5060"));
        let (ip, port) = (ip.to_owned(), port.to_owned());
        c.profile.network_addr = ip.clone();
        let user = c.profile.destination_number.clone();
        let (cid_name, cid_number) = (
            c.profile.caller_id_name.clone(),
            c.profile.caller_id_number.clone(),
        );
        let v = &mut c.vars;
        v.set("sip_call_id", call_id);
        v.set("sip_local_network_addr", "127.0.0.1");
        v.set("sip_reply_host", ip.clone());
        v.set("sip_reply_port", port.clone());
        v.set("sip_network_ip", ip.clone());
        v.set("sip_network_port", port.clone());
        v.set("sip_recover_contact", format!("<sip:{user}@{host}>"));
        v.set("sip_from_display", cid_name);
        v.set("sip_full_to", format!("<sip:{user}@{host}>;tag={to_tag}"));
        v.set("sip_from_user", cid_number.clone());
        v.set("sip_from_uri", format!("{cid_number}@127.0.0.1"));
        v.set("sip_from_host", "127.0.0.1");
        v.set("sip_to_user", user.clone());
        v.set("sip_to_port", port.clone());
        v.set("sip_to_uri", format!("{user}@{host}"));
        v.set("sip_to_host", ip.clone());
        v.set("sip_contact_user", user.clone());
        v.set("sip_contact_port", port);
        v.set("sip_contact_uri", format!("{user}@{host}"));
        v.set("sip_contact_host", ip);
        v.set("sip_to_tag", to_tag);
    }

    /// 180 Ringing: CHANNEL_PROGRESS and the RINGING call state.
    fn ring(&mut self, uuid: &str) {
        self.far_end_replied(uuid);
        let now = self.micros();
        if let Some(c) = self.chan_mut(uuid) {
            c.profile.times.progress = now;
        }
        self.fire(
            uuid,
            "CHANNEL_PROGRESS",
            origin::PROGRESS,
            Vars::With,
            &[],
            &[],
        );
        self.set_callstate(uuid, CallState::Ringing);
    }

    /// 200 OK: media, CHANNEL_ANSWER, the caller-id flip (CALL_UPDATE), the job's `+OK`, then
    /// the `&app()`.
    pub(crate) fn agent_answers(&mut self, uuid: &str) {
        if !self.live(uuid) || self.chan(uuid).is_some_and(|c| c.answered) {
            return;
        }
        self.far_end_replied(uuid);
        let from_tag = self.rng.token(13);
        let branch = self.rng.token(13);
        let cseq = self.rng.range(100_000_000..200_000_000);
        if let Some(c) = self.chan_mut(uuid) {
            let (cid_name, cid_number) = (
                c.profile.caller_id_name.clone(),
                c.profile.caller_id_number.clone(),
            );
            let display = if cid_name.is_empty() {
                String::new()
            } else {
                format!("\"{cid_name}\" ")
            };
            let v = &mut c.vars;
            v.set("sip_user_agent", "switchdesk-sim-agent");
            v.set(
                "sip_full_via",
                format!("SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK{branch}"),
            );
            v.set(
                "sip_recover_via",
                format!("SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK{branch}"),
            );
            v.set(
                "sip_full_from",
                format!("{display}<sip:{cid_number}@127.0.0.1>;tag={from_tag}"),
            );
            v.set("sip_from_tag", from_tag);
            v.set("sip_cseq", cseq.to_string());
            v.set("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b");
        }
        self.negotiate_media(uuid);
        let now = self.micros();
        if let Some(c) = self.chan_mut(uuid) {
            c.answered = true;
            c.profile.times.answered = now;
            c.vars.set("endpoint_disposition", "ANSWER");
        }
        self.fire(uuid, "CHANNEL_ANSWER", origin::ANSWER, Vars::With, &[], &[]);
        self.set_callstate(uuid, CallState::Active);
        if let Some(c) = self.chan_mut(uuid) {
            // The leg now runs an extension (`&park()`): it has hit the dialplan.
            c.hit_dialplan = true;
            let p = &mut c.profile;
            c.vars
                .set("pre_transfer_caller_id_name", p.caller_id_name.clone());
            c.vars
                .set("pre_transfer_caller_id_number", p.caller_id_number.clone());
            c.vars.set("channel_cid_flipped", "yes");
            std::mem::swap(&mut p.caller_id_name, &mut p.callee_id_name);
            std::mem::swap(&mut p.caller_id_number, &mut p.callee_id_number);
        }
        self.fire(
            uuid,
            "CALL_UPDATE",
            origin::CALL_UPDATE_FLIP,
            Vars::With,
            &[("Direction", "RECV".into())],
            &[],
        );
        let (job, app, for_caller) = match self.roles.get_mut(uuid) {
            Some(Role::Agent(leg)) => (leg.job.take(), leg.app.clone(), leg.for_caller.clone()),
            _ => (None, ("park".to_owned(), String::new()), None),
        };
        if let Some(caller) = for_caller {
            self.bridge_app_answered(&caller, uuid);
            return;
        }
        if let Some(job) = job {
            if self.originate_job_delay.is_zero() {
                self.finish_job(job, format!("+OK {uuid}\n"));
            } else {
                self.late_jobs
                    .insert(uuid.to_owned(), (job, format!("+OK {uuid}\n")));
                self.schedule(self.originate_job_delay, Timer::LateJob(uuid.to_owned()));
            }
        }
        self.set_state(uuid, State::Execute, State::Execute);
        match app.0.as_str() {
            "park" => self.park(uuid),
            // `originate <dial> <exten>`: the leg is transferred to the extension.
            "transfer" => match self.route_for(&app.1) {
                Some(route) => self.run_route(uuid, route.action),
                None => self.hangup(
                    uuid,
                    End::new("NO_ROUTE_DESTINATION", Initiator::Switch),
                    None,
                ),
            },
            // `&app(arg)`: a one-application extension; the leg hangs up after it.
            _ => self.run_extension(uuid, vec![app]),
        }
    }

    /// A failure response (486, 503...) to the INVITE.
    pub(crate) fn agent_fails(&mut self, uuid: &str, cause: &'static str) {
        if !self.live(uuid) {
            return;
        }
        let failure = match cause {
            "USER_BUSY" => (486, "Busy Here"),
            _ => (503, "Service Unavailable"),
        };
        if cause == "USER_BUSY" {
            self.far_end_replied(uuid);
        }
        let end = End {
            cause: cause.to_owned(),
            by: Initiator::Remote,
            failure: Some(failure),
        };
        self.hangup(uuid, end, None);
    }

    /// Nobody answered within `originate_timeout` (NO_ANSWER) or a bridge's `leg_timeout`
    /// (ALLOTTED_TIMEOUT): the switch cancels.
    pub(crate) fn originate_timeout(&mut self, uuid: &str, cause: &str) {
        if self.chan(uuid).is_some_and(|c| !c.down && !c.answered) {
            self.hangup(uuid, End::new(cause, Initiator::Switch), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_strings_parse_like_switch_ivr_originate() {
        let d = parse_dial_string("{origination_uuid=u1,fax_header='CC Fixture TX',cc_role=agent}sofia/external/agent@127.0.0.1:5090").unwrap();
        assert_eq!(d.endpoint, "sofia/external/agent@127.0.0.1:5090");
        assert_eq!(d.vars[1], ("fax_header".into(), "CC Fixture TX".into()));
        let argv = split_args("{a=1,fax_header=CC Fixture TX}loopback/7200 &txfax(/tmp/x)");
        assert_eq!(parse_dial_string(&argv[0]), Err("DESTINATION_OUT_OF_ORDER"));
        let argv = split_args("{a=1,h='x y'}user/1001 &park()");
        assert_eq!(argv.len(), 2);
        assert_eq!(parse_dial_string(&argv[0]).unwrap().vars[1].1, "x y");
    }
}
