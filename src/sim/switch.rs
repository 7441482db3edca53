//! The switch core: live channels, the agenda of timed steps (ringing, patience, playback ends,
//! talk time, fax phases, heartbeats), the global `Event-Sequence`, and the outputs the engine
//! drains (events, deferred api replies, CDR documents, fax files). Sans-IO: every entry point
//! gets `now`; it never touches a socket, a file or the clock. The call flows themselves live in
//! `call`, `apps`, `originate`, `bridge`, `hangup` and `fax`, as `impl Switch` blocks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::channel::{CallState, Channel, State};
use super::clock::{Clock, Micros};
use super::config::{Route, SimConfig};
use super::events::{self, origin, Event, Headers, Identity, Origin, Vars};
use super::fax::FaxCall;
use super::listener::Interest;
use super::rng::SimRng;
use super::spec::{AgentBehaviour, ChannelSnapshot};

/// Something the engine must carry out, in order.
#[derive(Debug)]
pub(crate) enum Output {
    Event(Arc<Event>),
    /// The deferred `api/response` body of a synchronous `api originate`.
    Reply {
        token: u64,
        body: String,
    },
    /// A mod_xml_cdr document for the leg `uuid` (`query` is the `uuid=` parameter's value).
    Cdr {
        query: String,
        xml: String,
    },
    /// rxfax writing its TIFF; must complete before the next output (the result event).
    WriteFax {
        from: PathBuf,
        to: PathBuf,
    },
}

/// Where the result of an originate goes.
#[derive(Clone, Debug)]
pub(crate) enum JobReply {
    Api(u64),
    Background {
        job_uuid: String,
        command: String,
        arg: Option<String>,
    },
}

/// An api command still running: its API event (sequence taken at the start, fired at the end,
/// as `switch_api_execute` does) and where the result goes.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) reply: JobReply,
    pub(crate) api_event: Headers,
}

/// What a leg does on its own, beyond what clients tell it.
#[derive(Debug)]
pub(crate) enum Role {
    Caller {
        talk: Option<Duration>,
        dtmf: Vec<(Duration, char)>,
    },
    Agent(AgentLeg),
    Fax(Box<FaxCall>),
}

#[derive(Debug)]
pub(crate) struct AgentLeg {
    /// The originate waiting for this leg's outcome.
    pub(crate) job: Option<Job>,
    pub(crate) talk: Option<Duration>,
    /// The `&app(arg)` to run once answered.
    pub(crate) app: (String, String),
    /// The caller whose `bridge` application placed this leg (it joins them on answer).
    pub(crate) for_caller: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum Timer {
    Heartbeat,
    Patience(String),
    CallerTalkEnd(String),
    Dtmf(String, char),
    AgentAnswer(String),
    AgentFail(String, &'static str),
    /// The leg rang too long; it ends with this cause.
    OriginateTimeout(String, &'static str),
    AgentTalkEnd(String),
    /// The timed application with this token reached its end.
    AppDone(String, u64),
    Fax(String, u32),
    /// The leg's reporting handlers are done: HANGUP_COMPLETE, the CDR, DESTROY.
    Reported(String),
    /// An answered leg's originate job, held back (`SimConfig::originate_job_delay`), ends.
    LateJob(String),
}

pub(crate) struct Switch {
    pub(crate) id: Identity,
    pub(crate) clock: Clock,
    pub(crate) rng: SimRng,
    seq: u64,
    pub(crate) now: Instant,
    pub(crate) routes: Vec<Route>,
    pub(crate) originate_timeout: Duration,
    heartbeat: Duration,
    pub(crate) cdr_enabled: bool,
    pub(crate) cdr_b_legs: bool,
    /// How long one sound file plays.
    pub(crate) sound_file_length: Duration,
    /// Time a hung-up leg spends in CS_REPORTING (see `SimConfig::reporting_linger`).
    pub(crate) reporting_linger: Duration,
    /// See `SimConfig::originate_job_delay`.
    pub(crate) originate_job_delay: Duration,
    /// Originate jobs held back, by leg, with their result.
    pub(crate) late_jobs: HashMap<String, (Job, String)>,
    /// Callers running the `bridge` application, with the leg it placed.
    pub(crate) bridge_apps: HashMap<String, String>,
    /// Every `bridge` application run, as (channel, dial string).
    pub(crate) bridges_run: Vec<(String, String)>,
    /// Digits each leg presses when a `play_and_get_digits` prompts it, one per try, each
    /// this long after the try's prompt starts (`Simulator::answer_reads`).
    pub(crate) read_answers: HashMap<String, VecDeque<(Duration, char)>>,
    /// Live channels by UUID; `order` lists them in creation order. Both are kept in step so
    /// no lookup walks every channel.
    pub(crate) channels: HashMap<String, Channel>,
    order: BTreeMap<u64, String>,
    next_order: u64,
    pub(crate) roles: HashMap<String, Role>,
    pub(crate) endpoints: HashMap<String, AgentBehaviour>,
    agenda: BTreeMap<(Instant, u64), Timer>,
    /// The events some connection may want; the others are counted but never built.
    interest: Interest,
    timer_seq: u64,
    outputs: Vec<Output>,
    pub(crate) sessions_total: u64,
    pub(crate) sessions_peak: usize,
    tokens: u64,
}

impl Switch {
    pub(crate) fn new(config: &SimConfig, now: Instant) -> Switch {
        let mut rng = SimRng::new(config.seed);
        let core_uuid = rng.uuid();
        let wall = config
            .start_time
            .unwrap_or_else(|| crate::clock::system_time(crate::clock::now()));
        let mut switch = Switch {
            id: Identity {
                core_uuid,
                hostname: config.hostname.clone(),
                ipv4: "192.0.2.2".into(),
                ipv6: "fd00::2".into(),
            },
            clock: Clock::new(now, wall),
            rng,
            seq: 0,
            now,
            routes: config.dialplan.clone(),
            originate_timeout: config.originate_timeout_default,
            heartbeat: config.heartbeat,
            cdr_enabled: config.cdr.is_some(),
            cdr_b_legs: config.cdr.as_ref().is_none_or(|c| c.log_b_leg),
            sound_file_length: config.sound_file_length,
            reporting_linger: config.reporting_linger,
            originate_job_delay: config.originate_job_delay,
            late_jobs: HashMap::new(),
            bridge_apps: HashMap::new(),
            bridges_run: Vec::new(),
            read_answers: HashMap::new(),
            channels: HashMap::new(),
            order: BTreeMap::new(),
            next_order: 0,
            roles: HashMap::new(),
            endpoints: HashMap::new(),
            agenda: BTreeMap::new(),
            interest: Interest::default(),
            timer_seq: 0,
            outputs: Vec::new(),
            sessions_total: 0,
            sessions_peak: 0,
            tokens: 0,
        };
        if !switch.heartbeat.is_zero() {
            switch.schedule(switch.heartbeat, Timer::Heartbeat);
        }
        switch
    }

    // ----- time, sequence, outputs -------------------------------------------------------

    pub(crate) fn at(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    pub(crate) fn micros(&self) -> Micros {
        self.clock.micros(self.now)
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// FreeSWITCH's sequence has small gaps (events nobody sees); reproduce one.
    pub(crate) fn skip_seq(&mut self) {
        self.seq += 1;
    }

    pub(crate) fn token(&mut self) -> u64 {
        self.tokens += 1;
        self.tokens
    }

    pub(crate) fn push(&mut self, output: Output) {
        self.outputs.push(output);
    }

    /// Which events connections subscribed to.
    pub(crate) fn set_interest(&mut self, interest: Interest) {
        self.interest = interest;
    }

    /// Whether an event named `name` may reach a connection. An event nobody wants still
    /// takes its `Event-Sequence` number (FreeSWITCH numbers every event), but is not built.
    pub(crate) fn wanted(&self, name: &str) -> bool {
        self.interest.wants(name)
    }

    pub(crate) fn emit(
        &mut self,
        name: &str,
        subclass: Option<String>,
        headers: Headers,
        body: Option<String>,
    ) {
        if !self.wanted(name) || headers.is_empty() {
            return;
        }
        self.push(Output::Event(Arc::new(Event::new(
            name, subclass, headers, body,
        ))));
    }

    pub(crate) fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    // ----- agenda --------------------------------------------------------------------------

    /// Runs `timer` after `after` (capped at ten years: a client's `originate_timeout` or
    /// playback length must not overflow the clock).
    pub(crate) fn schedule(&mut self, after: Duration, timer: Timer) {
        self.timer_seq += 1;
        let after = after.min(Duration::from_secs(10 * 365 * 86_400));
        let at = self.now.checked_add(after).unwrap_or(self.now);
        self.agenda.insert((at, self.timer_seq), timer);
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.agenda.keys().next().map(|(at, _)| *at)
    }

    /// Runs every step due by `now`, each at its own scheduled instant.
    pub(crate) fn advance(&mut self, now: Instant) {
        while let Some((&(at, seq), _)) = self.agenda.iter().next() {
            if at > now {
                break;
            }
            let Some(timer) = self.agenda.remove(&(at, seq)) else {
                break;
            };
            self.at(at);
            self.run_timer(timer);
        }
        self.at(now);
    }

    fn run_timer(&mut self, timer: Timer) {
        match timer {
            Timer::Heartbeat => {
                self.heartbeat_event();
                let every = self.heartbeat;
                self.schedule(every, Timer::Heartbeat);
            }
            Timer::Patience(uuid) => self.caller_gives_up(&uuid),
            Timer::CallerTalkEnd(uuid) | Timer::AgentTalkEnd(uuid) => self.remote_hangup(&uuid),
            Timer::Dtmf(uuid, digit) => {
                self.dtmf(&uuid, digit, "RTP", 2240);
            }
            Timer::AgentAnswer(uuid) => self.agent_answers(&uuid),
            Timer::AgentFail(uuid, cause) => self.agent_fails(&uuid, cause),
            Timer::OriginateTimeout(uuid, cause) => self.originate_timeout(&uuid, cause),
            Timer::AppDone(uuid, token) => self.app_done(&uuid, token),
            Timer::Fax(uuid, step) => self.fax_step(&uuid, step),
            Timer::Reported(uuid) => self.complete(&uuid),
            Timer::LateJob(uuid) => {
                if let Some((job, body)) = self.late_jobs.remove(&uuid) {
                    self.finish_job(job, body);
                }
            }
        }
    }

    // ----- channels ------------------------------------------------------------------------

    pub(crate) fn chan(&self, uuid: &str) -> Option<&Channel> {
        self.channels.get(uuid)
    }

    pub(crate) fn chan_mut(&mut self, uuid: &str) -> Option<&mut Channel> {
        self.channels.get_mut(uuid)
    }

    /// Every channel (live or hanging up), in creation order.
    pub(crate) fn all_channels(&self) -> impl Iterator<Item = &Channel> {
        self.order
            .values()
            .filter_map(|uuid| self.channels.get(uuid))
    }

    pub(crate) fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// A channel clients may act on: present and not hanging up.
    pub(crate) fn live(&self, uuid: &str) -> bool {
        self.chan(uuid).is_some_and(|c| !c.down)
    }

    pub(crate) fn add_channel(&mut self, mut chan: Channel) {
        self.next_order += 1;
        chan.order = self.next_order;
        self.order.insert(chan.order, chan.uuid.clone());
        self.channels.insert(chan.uuid.clone(), chan);
        self.sessions_total += 1;
        self.sessions_peak = self.sessions_peak.max(self.channels.len());
    }

    /// The leg is destroyed: forget it.
    pub(crate) fn remove_channel(&mut self, uuid: &str) {
        if let Some(chan) = self.channels.remove(uuid) {
            self.order.remove(&chan.order);
        }
        self.roles.remove(uuid);
    }

    pub(crate) fn next_session_id(&self) -> u64 {
        self.sessions_total + 1
    }

    /// Fires a channel event built from the channel's current data.
    pub(crate) fn fire(
        &mut self,
        uuid: &str,
        name: &str,
        origin: Origin,
        vars: Vars,
        before: &[(&str, String)],
        after: &[(&str, String)],
    ) {
        let seq = self.next_seq();
        if !self.wanted(name) {
            return;
        }
        let at = self.micros();
        let Some(chan) = self.chan(uuid) else { return };
        let headers = events::channel_event(
            &self.id,
            events::Head {
                name,
                seq,
                at,
                origin,
            },
            chan,
            vars,
            before,
            after,
        );
        self.emit(name, None, headers, None);
    }

    /// Moves the channel's state machine and fires CHANNEL_STATE.
    pub(crate) fn set_state(&mut self, uuid: &str, running: State, state: State) {
        if let Some(chan) = self.chan_mut(uuid) {
            chan.running = running;
            chan.state = state;
        }
        self.fire(
            uuid,
            "CHANNEL_STATE",
            origin::STATE,
            Vars::Without,
            &[],
            &[],
        );
    }

    /// Changes the call state and fires CHANNEL_CALLSTATE.
    pub(crate) fn set_callstate(&mut self, uuid: &str, callstate: CallState) {
        let Some(chan) = self.chan_mut(uuid) else {
            return;
        };
        let original = chan.callstate;
        chan.callstate = callstate;
        let before = [
            ("Original-Channel-Call-State", original.name().to_owned()),
            ("Channel-Call-State-Number", callstate.number().to_string()),
        ];
        self.fire(
            uuid,
            "CHANNEL_CALLSTATE",
            origin::CALLSTATE,
            Vars::Without,
            &before,
            &[],
        );
    }

    pub(crate) fn set_var(&mut self, uuid: &str, name: &str, value: impl Into<String>) {
        if let Some(chan) = self.chan_mut(uuid) {
            chan.vars.set(name, value);
        }
    }

    pub(crate) fn snapshots(&self) -> Vec<ChannelSnapshot> {
        self.all_channels()
            .map(|c| ChannelSnapshot {
                uuid: c.uuid.clone(),
                name: c.name.clone(),
                direction: c.direction.as_str().into(),
                state: c.running.name().into(),
                call_state: c.callstate.name().into(),
                answered: c.answered,
                parked: c.park.is_some(),
                bridged_to: c.bridged_to.clone(),
                variables: c
                    .vars
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            })
            .collect()
    }

    pub(crate) fn set_endpoint(&mut self, endpoint: &str, behaviour: AgentBehaviour) {
        self.endpoints.insert(endpoint_key(endpoint), behaviour);
    }

    pub(crate) fn behaviour(&self, endpoint: &str) -> Option<&AgentBehaviour> {
        self.endpoints.get(&endpoint_key(endpoint))
    }

    // ----- jobs ----------------------------------------------------------------------------

    /// Starts an api job: takes the API event's sequence now.
    pub(crate) fn api_event(&mut self, command: &str, arg: Option<&str>) -> Headers {
        let seq = self.next_seq();
        if !self.wanted("API") {
            return Headers::default();
        }
        let at = self.micros();
        let mut h = events::core(&self.id, "API", seq, at, origin::API);
        h.push("API-Command", command);
        if let Some(arg) = arg.filter(|a| !a.is_empty()) {
            h.push("API-Command-Argument", arg);
        }
        h
    }

    /// Fires the job's API event, then delivers its result.
    pub(crate) fn finish_job(&mut self, job: Job, body: String) {
        self.emit("API", None, job.api_event, None);
        match job.reply {
            JobReply::Api(token) => self.push(Output::Reply { token, body }),
            JobReply::Background {
                job_uuid,
                command,
                arg,
            } => {
                let seq = self.next_seq();
                if !self.wanted("BACKGROUND_JOB") {
                    return;
                }
                let at = self.micros();
                let mut h =
                    events::core(&self.id, "BACKGROUND_JOB", seq, at, origin::BACKGROUND_JOB);
                h.push("Job-UUID", &job_uuid);
                h.push("Job-Command", &command);
                if let Some(arg) = arg {
                    h.push("Job-Command-Arg", &arg);
                }
                self.emit("BACKGROUND_JOB", None, h, Some(body));
            }
        }
    }

    // ----- HEARTBEAT -----------------------------------------------------------------------

    fn heartbeat_event(&mut self) {
        let seq = self.next_seq();
        let at = self.micros();
        let uptime = self.clock.uptime(self.now);
        let mut h = events::core(&self.id, "HEARTBEAT", seq, at, origin::HEARTBEAT);
        let fields: [(&str, String); 14] = [
            ("Event-Info", "System Ready".into()),
            ("Up-Time", super::clock::uptime_words(uptime)),
            ("FreeSWITCH-Version", "1.10.12-release~64bit".into()),
            ("Uptime-msec", uptime.as_millis().to_string()),
            ("Session-Count", self.channel_count().to_string()),
            ("Max-Sessions", "1000".into()),
            ("Session-Per-Sec", "30".into()),
            ("Session-Per-Sec-Last", "0".into()),
            ("Session-Per-Sec-Max", "1".into()),
            ("Session-Per-Sec-FiveMin", "1".into()),
            ("Session-Since-Startup", self.sessions_total.to_string()),
            ("Session-Peak-Max", self.sessions_peak.to_string()),
            ("Session-Peak-FiveMin", self.sessions_peak.to_string()),
            ("Idle-CPU", "98.000000".into()),
        ];
        for (n, v) in &fields {
            h.push(n, v);
        }
        self.emit("HEARTBEAT", None, h, None);

        let seq = self.next_seq();
        let mut h = events::core(&self.id, "RE_SCHEDULE", seq, at, origin::RE_SCHEDULE);
        let next =
            super::clock::epoch_secs(at + i64::try_from(self.heartbeat.as_micros()).unwrap_or(0));
        for (n, v) in [
            ("Task-ID", "1".to_owned()),
            ("Task-Desc", "heartbeat".into()),
            ("Task-Group", "core".into()),
            ("Task-Runtime", next.to_string()),
        ] {
            h.push(n, &v);
        }
        self.emit("RE_SCHEDULE", None, h, None);
    }
}

/// `user/1001@default` and `user/1001` name the same registration.
pub(crate) fn endpoint_key(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    match endpoint.strip_prefix("user/") {
        Some(rest) => format!("user/{}", rest.split('@').next().unwrap_or(rest)),
        None => endpoint.to_owned(),
    }
}
