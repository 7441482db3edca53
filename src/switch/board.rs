//! The switchboard: one task that owns the queue engine and feeds it from every FreeSWITCH
//! node, carries its actions out over ESL, persists what must survive a restart, and answers
//! the API. Per node, one executor sends the commands in the order the engine asked for them.
//!
//! The routing task never waits for anything but its inbox and the engine's next deadline:
//! commands go to the executors, writes to the writer ([`super::writer`]), whose outcomes come
//! back as messages. Every queue between these tasks is bounded; a full one is lag, and the
//! node it concerns is read again (the resync after a reconnect).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, error, info, warn};

use super::identify::{CallerIdentity, Identity};
use super::interpret::{channel_state, channel_uuids, interpret, ChannelState, Input};
use super::render::{self, api, render, Api, EavesdropMode, Step};
use super::writer::{self, AdminWrite, AgentState, Record, Stored, Writes};
use crate::acd::stats::{AgentTotals, Counters};
use crate::acd::{
    AcdError, Action, AgentConfig, AgentStatus, AgentView, CallerArrival, Engine, QueueConfig,
    QueueView, Update,
};
use crate::blocklist::{Blocklist, Direction, Entry};
use crate::directory::number::Numbering;
use crate::esl::event::EventFormat;
use crate::esl::{Connection, ConnectionEvent, Event};
use crate::fsarg::{ChannelUuid, DialplanContext, Endpoint, HangupCause, VarName, VarValue};
use crate::metrics::{Metrics, SWITCHBOARD_LAGGED_TOTAL};
use crate::stats::{Day, StatsConfig};
use crate::store::{BlockedAttempt, Store, StoreError, StoredAgent, StoredCallback};
use crate::supervise::{Policy, Tasks};

/// The events the switchboard needs from each node.
pub const EVENTS: &[&str] = &[
    "CHANNEL_PARK",
    "CHANNEL_BRIDGE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "DTMF",
    "BACKGROUND_JOB",
    "HEARTBEAT",
];

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Acd(#[from] AcdError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the switchboard has stopped")]
    Stopped,
    /// The switchboard's inbox (or its line of settings changes) is full: try again shortly.
    #[error("the switchboard is busy; try again")]
    Busy,
    /// FreeSWITCH did not carry a request out (the cause it gave, or why it could not be asked).
    #[error("FreeSWITCH did not connect the call: {0}")]
    Switch(String),
}

/// A supervisor's leg listening in on an agent's call, once the supervisor answered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Eavesdrop {
    /// The supervisor's leg (hang it up to stop).
    pub leg: String,
    pub agent: String,
    /// The agent's leg, which is eavesdropped.
    pub agent_leg: String,
    /// The caller's call the agent is in.
    pub call: String,
    pub mode: EavesdropMode,
    pub endpoint: Endpoint,
}

/// What a supervisor asked for when joining an agent's call.
struct EavesdropAsk {
    agent: String,
    mode: EavesdropMode,
    endpoint: Endpoint,
    /// Who asked, for the log.
    by: String,
}

/// How the switchboard is set up.
pub struct BoardOptions {
    pub transfer_context: DialplanContext,
    /// Seeds leg UUIDs and the random strategy; use a fresh one per process.
    pub seed: u64,
    pub identity: Arc<dyn CallerIdentity>,
    /// Consulted before a parked caller is answered and before a callback is dialled.
    pub blocklist: Arc<Blocklist>,
    /// Reads callers' numbers as E.164 for the blocklist.
    pub numbering: Numbering,
    /// Supervises the switchboard's tasks.
    pub tasks: Tasks,
    /// How many messages (events, results, API requests) may wait for the switchboard; a
    /// node whose events find it full is resynced, an API request is answered busy.
    pub inbox_capacity: usize,
    /// Short abandons and where days start: the counters shown are the day's so far.
    pub stats: StatsConfig,
}

/// The switchboard's inbox, unless the options say otherwise: a few seconds of a busy
/// node's events.
pub const INBOX_CAPACITY: usize = 4_096;

/// Command batches (one per channel per engine turn) waiting for a node's executor, at most.
/// The engine's own output does not come near it; only a node that stopped answering does,
/// and its commands are then dropped and the node resynced.
const STEP_BATCHES: usize = 8_192;

/// Settings changes waiting behind the one being stored, at most.
const ADMIN_WAITING: usize = 64;

impl BoardOptions {
    /// Transfers in the `default` context, nobody identified, nothing blocked, numbers read
    /// as North American.
    pub fn new(seed: u64) -> BoardOptions {
        BoardOptions {
            transfer_context: DialplanContext::default(),
            seed,
            identity: Arc::new(super::identify::Unknown),
            blocklist: Arc::new(Blocklist::default()),
            numbering: Numbering::new("US").expect("US is a region libphonenumber knows"),
            tasks: Tasks::new(crate::metrics::Metrics::new()),
            inbox_capacity: INBOX_CAPACITY,
            stats: StatsConfig::default(),
        }
    }
}

enum Request {
    Queues(oneshot::Sender<Vec<QueueView>>),
    Identities(oneshot::Sender<HashMap<String, Identity>>),
    Caller(String, oneshot::Sender<Option<RecentCaller>>),
    Eject(String, oneshot::Sender<bool>),
    Agent(String, oneshot::Sender<Option<AgentView>>),
    AgentStatus(String, AgentStatus, oneshot::Sender<Result<(), BoardError>>),
    SaveQueue(Box<QueueConfig>, oneshot::Sender<Result<(), BoardError>>),
    DeleteQueue(String, oneshot::Sender<Result<(), BoardError>>),
    SaveAgent(AgentConfig, oneshot::Sender<Result<(), BoardError>>),
    DeleteAgent(String, oneshot::Sender<Result<(), BoardError>>),
    MoveCaller(String, String, oneshot::Sender<Result<(), BoardError>>),
    ToFront(String, oneshot::Sender<Result<(), BoardError>>),
    Eavesdrop(EavesdropAsk, oneshot::Sender<Result<Eavesdrop, BoardError>>),
}

enum Msg {
    Esl(usize, ConnectionEvent),
    Lagged(usize),
    LegResult {
        leg: String,
        result: Result<String, String>,
    },
    BridgeFailed {
        call: String,
        /// FreeSWITCH answered `uuid_exists` false for the caller after the refusal.
        caller_gone: bool,
    },
    Resynced {
        node: usize,
        channels: Vec<ChannelState>,
    },
    Request(Box<Request>),
    /// The writer's outcome for the admin write in flight.
    Stored(Stored),
    Stop,
}

impl From<Stored> for Msg {
    fn from(stored: Stored) -> Msg {
        Msg::Stored(stored)
    }
}

type Reply = oneshot::Sender<Result<(), BoardError>>;

/// An admin write handed to the writer, and how to answer it.
struct InFlight {
    ticket: u64,
    write: AdminWrite,
    reply: Reply,
    /// What a delete took out of the engine, put back if the delete does not commit.
    undo: Option<Undo>,
}

enum Undo {
    Queue(Box<QueueConfig>),
    Agent(AgentConfig, AgentState),
}

/// A caller as the switch shows it (an event or a resync), before identification.
struct Waiting {
    call: String,
    queue: String,
    number: String,
    name: String,
    priority: Option<i32>,
    enqueued_at: Option<u64>,
    answered: bool,
    /// Already let in by an earlier run of the service (it carries its place, or was
    /// answered): not checked against the blocklist again.
    admitted: bool,
}

/// Per channel, the variables one flush sets (with the index of their step in the batch).
type VarSlots = HashMap<String, (usize, Vec<(VarName, VarValue)>)>;

/// A caller seen lately (waiting, connected or gone), for "block this caller".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentCaller {
    pub call: String,
    /// As the switch gave it (not normalized).
    pub number: String,
    pub name: String,
}

/// How many callers "block this caller" can reach back to.
const RECENT_CALLERS: usize = 1_000;

/// A handle to the running switchboard; cheap to clone.
#[derive(Clone)]
pub struct Board {
    inbox: mpsc::Sender<Msg>,
    updates: broadcast::Sender<Update>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Board {
    /// Loads queues, agents and pending callbacks (seeding the store from `seed_queues` and
    /// `seed_agents` where it has none of that name), then starts driving the nodes. Each node
    /// comes with a receiver subscribed before its first connect, so nothing is missed.
    pub async fn start(
        nodes: Vec<(Connection, broadcast::Receiver<ConnectionEvent>)>,
        store: Store,
        seed_queues: &[QueueConfig],
        seed_agents: &[AgentConfig],
        options: BoardOptions,
    ) -> Result<Board, BoardError> {
        // The configuration file creates queues and agents the database does not have yet;
        // after that the database rules (the API edits it), so a file that says otherwise is
        // pointed out rather than silently ignored.
        let mut kept_queues = Vec::new();
        for queue in seed_queues {
            if !store.seed_queue(queue).await? {
                kept_queues.push(queue);
            }
        }
        let mut kept_agents = Vec::new();
        for agent in seed_agents {
            if !store.seed_agent(agent).await? {
                kept_agents.push(agent);
            }
        }
        let queue_rows = store.queue_rows().await?;
        let agent_rows = store.agent_rows().await?;
        warn_where_the_file_differs(&kept_queues, &kept_agents, &queue_rows, &agent_rows);
        let now = now_ms();
        let mut engine = Engine::new(options.seed);
        // A row that no longer reads (a value refused since it was stored) is named in the
        // log and left out; the rest of the contact center starts. Saving it again over the
        // API (PUT /api/queues/NAME, /api/agents/NAME) brings it back.
        for queue in queue_rows {
            let queue = match queue {
                Ok(queue) => queue,
                Err(e) => {
                    error!("stored queue cannot be read, not served until saved again: {e}");
                    continue;
                }
            };
            if let Err(e) = engine.set_queue(now, queue.clone()) {
                error!(queue = %queue.name, "stored queue is not valid: {e}");
            }
        }
        for agent in agent_rows {
            let agent = match agent {
                Ok(agent) => agent,
                Err(e) => {
                    error!("stored agent cannot be read, not served until saved again: {e}");
                    continue;
                }
            };
            let name = agent.config.name.clone();
            let mut config = agent.config;
            // A membership of a queue that did not load (its row no longer reads) is left out
            // for this run, named, rather than the whole agent: the agent still takes calls
            // from the other queues, and the stored row keeps it for when the queue is back.
            let (known, unknown): (Vec<_>, Vec<_>) = config
                .queues
                .drain(..)
                .partition(|m| engine.queue_config(&m.queue).is_some());
            config.queues = known;
            if !unknown.is_empty() {
                let queues: Vec<&str> = unknown.iter().map(|m| m.queue.as_str()).collect();
                error!(
                    agent = %name,
                    queues = %queues.join(", "),
                    "stored agent is a member of queues that are not served; serving it in the others"
                );
            }
            match engine.set_agent(now, config) {
                Ok(()) => engine.restore_agent(&name, agent.status, agent.calls, agent.talk_ms)?,
                Err(e) => error!(agent = %name, "stored agent is not valid: {e}"),
            }
        }
        // The day's counters so far, as the statistics stored them (a restart keeps them).
        let day = options.stats.day();
        engine.set_short_abandon_secs(options.stats.short_abandon_secs);
        let (queues_today, agents_today) = day_so_far(&store, day.start_of(now)).await?;
        engine.start_day(&queues_today, &agents_today);
        let mut identities = HashMap::new();
        for cb in store.pending_callbacks().await? {
            identities.insert(cb.id.clone(), callback_identity(&options, &cb.number));
            if let Err(e) = engine.restore_callback(
                &cb.queue,
                &cb.id,
                &cb.number,
                cb.enqueued_at,
                cb.attempts,
                cb.not_before,
            ) {
                warn!(callback = %cb.id, "pending callback not restored: {e}");
            }
        }
        // Nothing to carry out yet: restored state was already in effect.
        while engine.poll_action().is_some() {}
        while engine.poll_update().is_some() {}

        let (inbox, messages) = mpsc::channel(options.inbox_capacity.max(1));
        let (updates, _) = broadcast::channel(16_384);
        let mut connections = Vec::new();
        let mut executors = Vec::new();
        let tasks = options.tasks.clone();
        for (index, (connection, events)) in nodes.into_iter().enumerate() {
            let forward = Forward {
                inbox: inbox.clone(),
                index,
                node: connection.node().to_owned(),
                metrics: tasks.metrics().clone(),
            };
            let node = connection.clone();
            let mut first = Some(events);
            let name = format!("switchboard-events:{}", connection.node());
            tasks.spawn(name, Policy::RestartOnPanic, move || {
                // A restarted forwarder missed events: the node is read again first.
                let restarted = first.is_none();
                let events = first.take().unwrap_or_else(|| node.subscribe());
                forward_events(events, forward.clone(), restarted)
            });
            let (steps, queue) = mpsc::channel(STEP_BATCHES);
            let (node, queue, steps_done) =
                (connection.clone(), Arc::new(queue.into()), inbox.clone());
            let mut first = true;
            let name = format!("switchboard-executor:{}", connection.node());
            tasks.spawn(name, Policy::RestartOnPanic, move || {
                // Steps in flight were lost with the failed executor: the node is read again.
                let restarted = !std::mem::take(&mut first);
                let (node, queue, inbox) = (node.clone(), Arc::clone(&queue), steps_done.clone());
                async move {
                    if restarted && inbox.send(Msg::Lagged(index)).await.is_err() {
                        return;
                    }
                    execute(node, queue, inbox).await;
                }
            });
            connections.push(connection);
            executors.push(steps);
        }
        let (writes, writer) = writer::backlog();
        let (writing, writer, outcomes) = (store.clone(), Arc::new(writer), inbox.clone());
        tasks.spawn("switchboard-writer", Policy::RestartOnPanic, move || {
            let (store, writer, inbox) = (writing.clone(), Arc::clone(&writer), outcomes.clone());
            async move { writer.run(store, inbox).await }
        });
        let board = Switchboard {
            engine,
            connections,
            executors,
            node_of: HashMap::new(),
            identities,
            recent: std::collections::VecDeque::new(),
            refused: HashSet::new(),
            resync_baseline: HashMap::new(),
            ended_during_resync: HashSet::new(),
            arrival_vars: HashMap::new(),
            caller_bridges: HashMap::new(),
            bridge_ready: HashMap::new(),
            silent: HashSet::new(),
            inbox: inbox.clone(),
            updates: updates.clone(),
            writes,
            admin_waiting: std::collections::VecDeque::new(),
            admin_in_flight: None,
            tickets: 0,
            lagging: HashSet::new(),
            next_day: day.next_start(now),
            day,
            options,
        };
        // The engine's state cannot be rebuilt inside the process: a panic ends the process,
        // and the next one re-adopts the waiting callers from FreeSWITCH.
        let mut run = Some(board.run(messages));
        tasks.spawn("switchboard", Policy::ExitOnPanic, move || {
            let run = run.take();
            async move {
                if let Some(run) = run {
                    run.await;
                }
            }
        });
        Ok(Board { inbox, updates })
    }

    /// Stops the switchboard (callers stay parked in FreeSWITCH for the next one to adopt).
    pub fn shutdown(&self) {
        if let Err(TrySendError::Full(stop)) = self.inbox.try_send(Msg::Stop) {
            let inbox = self.inbox.clone();
            tokio::spawn(async move {
                let _ = inbox.send(stop).await;
            });
        }
    }

    /// Every engine update from now on (caller joined, left, announced, agent changed...).
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, BoardError> {
        let (reply, answer) = oneshot::channel();
        // A full inbox is answered at once: the caller may try again, the switchboard is not
        // made to wait for it.
        self.inbox
            .try_send(Msg::Request(Box::new(make(reply))))
            .map_err(|e| match e {
                TrySendError::Full(_) => BoardError::Busy,
                TrySendError::Closed(_) => BoardError::Stopped,
            })?;
        answer.await.map_err(|_| BoardError::Stopped)
    }

    pub async fn queues(&self) -> Result<Vec<QueueView>, BoardError> {
        self.ask(Request::Queues).await
    }

    /// Who each caller in the queues (or in a call from them) was identified as.
    pub async fn identities(&self) -> Result<HashMap<String, Identity>, BoardError> {
        self.ask(Request::Identities).await
    }

    /// A caller waiting now or seen among the last [`RECENT_CALLERS`].
    pub async fn caller(&self, call: &str) -> Result<Option<RecentCaller>, BoardError> {
        self.ask(|r| Request::Caller(call.to_owned(), r)).await
    }

    /// Hangs up a caller still waiting in a queue (a blocked one); false if none waits.
    pub async fn eject(&self, call: &str) -> Result<bool, BoardError> {
        self.ask(|r| Request::Eject(call.to_owned(), r)).await
    }

    pub async fn agent(&self, name: &str) -> Result<Option<AgentView>, BoardError> {
        self.ask(|r| Request::Agent(name.to_owned(), r)).await
    }

    pub async fn set_agent_status(
        &self,
        name: &str,
        status: AgentStatus,
    ) -> Result<(), BoardError> {
        self.ask(|r| Request::AgentStatus(name.to_owned(), status, r))
            .await?
    }

    /// Creates or replaces a queue, stored first so it survives a restart: answered once the
    /// row committed, and in force from then on. Settings changes are stored one at a time,
    /// in the order they came, each checked against the engine as the earlier ones left it.
    pub async fn save_queue(&self, config: QueueConfig) -> Result<(), BoardError> {
        self.ask(|r| Request::SaveQueue(Box::new(config), r))
            .await?
    }

    /// Removes an empty queue: no caller is queued there from the moment it is asked; put
    /// back as it was if the delete does not commit.
    pub async fn delete_queue(&self, name: &str) -> Result<(), BoardError> {
        self.ask(|r| Request::DeleteQueue(name.to_owned(), r))
            .await?
    }

    pub async fn save_agent(&self, config: AgentConfig) -> Result<(), BoardError> {
        self.ask(|r| Request::SaveAgent(config, r)).await?
    }

    pub async fn delete_agent(&self, name: &str) -> Result<(), BoardError> {
        self.ask(|r| Request::DeleteAgent(name.to_owned(), r))
            .await?
    }

    /// Sends a waiting caller to another queue (a supervisor's move).
    pub async fn move_caller(&self, call: &str, queue: &str) -> Result<(), BoardError> {
        self.ask(|r| Request::MoveCaller(call.to_owned(), queue.to_owned(), r))
            .await?
    }

    /// Puts a waiting caller first in their queue.
    pub async fn to_front(&self, call: &str) -> Result<(), BoardError> {
        self.ask(|r| Request::ToFront(call.to_owned(), r)).await?
    }

    /// Calls `endpoint` (a supervisor's phone) into the agent's current call in `mode`;
    /// answers once the supervisor picked up, or with FreeSWITCH's reason they did not.
    /// Refused when the agent is not in a call.
    pub async fn eavesdrop(
        &self,
        agent: &str,
        mode: EavesdropMode,
        endpoint: &Endpoint,
        by: &str,
    ) -> Result<Eavesdrop, BoardError> {
        let ask = EavesdropAsk {
            agent: agent.to_owned(),
            mode,
            endpoint: endpoint.clone(),
            by: by.to_owned(),
        };
        self.ask(|r| Request::Eavesdrop(ask, r)).await?
    }
}

struct Switchboard {
    engine: Engine,
    connections: Vec<Connection>,
    executors: Vec<mpsc::Sender<Vec<Step>>>,
    /// Which node each tracked channel lives on.
    node_of: HashMap<String, usize>,
    /// Who each tracked caller is, until their channel hangs up.
    identities: HashMap<String, Identity>,
    /// The latest callers, newest last.
    recent: std::collections::VecDeque<RecentCaller>,
    /// Blocked callers being refused, until their channel hangs up: a resync and the park
    /// event may both show the same one.
    refused: HashSet<String>,
    /// Per node, the channels tracked when its last resync asked for the channel list.
    resync_baseline: HashMap<usize, HashSet<String>>,
    /// Channels that hung up while a resync was under way: its list may still show them.
    ended_during_resync: HashSet<String>,
    /// Variables for an arriving caller's channel (the identification), sent with the
    /// engine's own in one `uuid_setvar_multi` at the next flush.
    arrival_vars: HashMap<String, Vec<(VarName, VarValue)>>,
    /// Callers whose own `bridge` application rings (or bridged) an agent, with that leg,
    /// until the application returns. Nothing is played to them meanwhile: FreeSWITCH would
    /// run it inside the ring, in front of the agent's answer.
    caller_bridges: HashMap<String, String>,
    /// Callers set up for their own `bridge` (see `render::caller_bridge_setup`), with the
    /// queue whose hold music is their ringback.
    bridge_ready: HashMap<String, String>,
    /// Callers whose `bridge` returned without a call: hold music again, unless rung anew.
    silent: HashSet<String>,
    inbox: mpsc::Sender<Msg>,
    updates: broadcast::Sender<Update>,
    /// The writer's backlog.
    writes: Writes,
    /// Settings changes waiting for the one in flight, in the order they came.
    admin_waiting: std::collections::VecDeque<(AdminWrite, Reply)>,
    admin_in_flight: Option<InFlight>,
    /// The last admin write's ticket.
    tickets: u64,
    /// Nodes whose commands found their executor's queue full: resynced after this turn.
    lagging: HashSet<usize>,
    /// Where days start, and when the next one does (the counters start again from zero).
    day: Day,
    next_day: u64,
    options: BoardOptions,
}

impl Switchboard {
    /// The routing loop. It awaits only its inbox and the engine's next deadline: everything
    /// it asks of the switch, the database or another task is handed over without waiting,
    /// and what comes back arrives as a message.
    async fn run(mut self, mut messages: mpsc::Receiver<Msg>) {
        loop {
            let deadline = self
                .engine
                .next_deadline()
                .map_or(self.next_day, |at| at.min(self.next_day));
            let wait = Duration::from_millis(deadline.saturating_sub(now_ms()));
            tokio::select! {
                message = messages.recv() => {
                    let Some(message) = message else { break };
                    if matches!(message, Msg::Stop) {
                        break;
                    }
                    // A busy inbox must not keep the day from turning.
                    self.new_day_if_due(now_ms());
                    self.handle(message);
                }
                _ = tokio::time::sleep(wait) => {
                    let now = now_ms();
                    self.new_day_if_due(now);
                    self.engine.tick(now);
                }
            }
            self.flush();
            for node in std::mem::take(&mut self.lagging) {
                self.resync(node);
            }
        }
        debug!("switchboard stopped");
    }

    /// At the day's start, the counters start again from zero (what happens from `now` on
    /// counts in the new day).
    fn new_day_if_due(&mut self, now: u64) {
        if now >= self.next_day {
            info!("a new day: queue and agent counters start again");
            self.engine.start_day(&HashMap::new(), &HashMap::new());
            self.next_day = self.day.next_start(now);
        }
    }

    fn handle(&mut self, message: Msg) {
        let now = now_ms();
        match message {
            Msg::Esl(node, ConnectionEvent::Events(batch)) => {
                for event in &batch {
                    self.on_event(now, node, event);
                }
            }
            Msg::Esl(node, ConnectionEvent::Connected { generation }) => {
                info!(node = %self.connections[node].node(), generation, "resyncing queues with FreeSWITCH");
                self.resync(node);
            }
            Msg::Esl(_, ConnectionEvent::Disconnected { .. }) => {}
            Msg::Lagged(node) => self.resync(node),
            Msg::LegResult { leg, result } => match result {
                Ok(body) if body.starts_with("+OK") => {
                    if self.engine.awaits_answer(&leg) {
                        self.engine.leg_answered(now, &leg);
                    } else if !self.engine.is_tracked(&leg) {
                        // Answered after we gave up on it: nobody wants this leg.
                        self.send(&leg, kill(&leg, HangupCause::NORMAL_CLEARING));
                    }
                    // Else its CHANNEL_PARK came first and it is being bridged already.
                }
                Ok(body) => {
                    let cause = body.trim().trim_start_matches("-ERR").trim();
                    self.engine.leg_failed(
                        now,
                        &leg,
                        if cause.is_empty() {
                            "NORMAL_TEMPORARY_FAILURE"
                        } else {
                            cause
                        },
                    );
                }
                Err(reason) => {
                    warn!(%leg, "offer not carried out: {reason}");
                    // A caller's `bridge` that never ran ends without an event.
                    let caller = self
                        .caller_bridges
                        .iter()
                        .find(|(_, l)| **l == leg)
                        .map(|(c, _)| c.clone());
                    if let Some(call) = caller {
                        self.caller_bridges.remove(&call);
                        self.silent.insert(call);
                    }
                    self.engine
                        .leg_failed(now, &leg, "NORMAL_TEMPORARY_FAILURE");
                }
            },
            Msg::BridgeFailed { call, caller_gone } => {
                self.engine.bridge_failed(now, &call, caller_gone)
            }
            Msg::Resynced { node, channels } => self.reconcile(now, node, channels),
            Msg::Request(request) => self.answer(now, *request),
            Msg::Stored(Stored { ticket, result }) => self.stored(now, ticket, result),
            Msg::Stop => {}
        }
    }

    fn on_event(&mut self, now: u64, node: usize, event: &Event) {
        let Some(input) = interpret(event) else {
            return;
        };
        match input {
            Input::Parked {
                call,
                queue,
                number,
                name,
                answered,
                enqueued_at,
                priority,
            } => {
                if self.engine.is_tracked(&call) {
                    return;
                }
                self.node_of.insert(call.clone(), node);
                let waiting = Waiting {
                    call: call.clone(),
                    queue: queue.clone(),
                    number,
                    name,
                    priority,
                    enqueued_at,
                    answered,
                    admitted: answered || enqueued_at.is_some(),
                };
                match self.admit(now, waiting) {
                    Ok(()) | Err(AcdError::DuplicateCall(_)) => {}
                    Err(e) => {
                        error!(%call, %queue, "caller cannot be queued: {e}; hanging up");
                        self.send(&call, kill(&call, HangupCause::NO_ROUTE_DESTINATION));
                    }
                }
            }
            Input::HungUp { uuid, cause } => {
                if self.engine.is_tracked(&uuid) {
                    self.engine.channel_hung_up(now, &uuid, &cause);
                }
                self.node_of.remove(&uuid);
                // A caller waiting for a callback keeps their place, and who they are.
                if !self.engine.is_tracked(&uuid) {
                    self.identities.remove(&uuid);
                }
                self.refused.remove(&uuid);
                self.caller_bridges.remove(&uuid);
                self.bridge_ready.remove(&uuid);
                self.silent.remove(&uuid);
                if !self.resync_baseline.is_empty() {
                    self.ended_during_resync.insert(uuid);
                }
            }
            Input::Dtmf { call, digit } => self.engine.dtmf(now, &call, digit),
            Input::Bridged { call, leg } => {
                if let Some(leg) = leg {
                    self.answered_by_caller(now, &call, &leg);
                }
                self.engine.bridged(now, &call);
            }
            Input::BridgeEnded {
                call,
                leg,
                disposition,
            } => {
                // Only the application of the current offer: an earlier one ends late when
                // the next offer was made at the leg's hangup.
                let Some(leg) = leg.filter(|l| self.caller_bridges.get(&call) == Some(l)) else {
                    return;
                };
                self.caller_bridges.remove(&call);
                // A leg that never existed (not registered) is failed only by this event.
                if disposition != "SUCCESS" && self.engine.is_tracked(&leg) {
                    self.engine.leg_failed(now, &leg, &disposition);
                }
                // Back in park, silent: hold music, unless the next offer rings first.
                self.silent.insert(call);
            }
            // `originate` sets CS_EXECUTE (for `&park()`) only once the leg answered and
            // `switch_ivr_originate` returned; the job's `+OK` is written after that, by
            // another thread than the leg's, so either event can reach us first (capture 02
            // has the job first, the park three events later). Either one means the leg is
            // answered and out of the originate: `uuid_bridge` is safe from then on (before
            // it, the originate would take the bridged leg for lost, or set CS_EXECUTE over
            // the bridge's CS_HIBERNATE).
            Input::LegParked { leg } => {
                if self.engine.awaits_answer(&leg) {
                    self.engine.leg_answered(now, &leg);
                }
            }
        }
    }

    /// The caller's own `bridge` joined `leg`: the engine hears the agent answered (and the
    /// bridge follows at once), without any command.
    fn answered_by_caller(&mut self, now: u64, call: &str, leg: &str) {
        if self.caller_bridges.get(call).is_some_and(|l| l == leg) && self.engine.awaits_answer(leg)
        {
            self.engine.leg_answered(now, leg);
        }
    }

    /// A caller the switch shows waiting: refused if blocked (never answered, never queued),
    /// else identified, marked for the CDR and handed to the engine. A caller already
    /// admitted by an earlier run (answered, or carrying its place) is not checked again.
    fn admit(&mut self, now: u64, waiting: Waiting) -> Result<(), AcdError> {
        if self.refused.contains(&waiting.call) {
            return Ok(());
        }
        // Read once: the blocklist and the phone book both match on E.164.
        // Filed as the phone book files numbers: E.164, or the extension an internal caller is.
        let e164 = self.options.numbering.key(&waiting.number);
        let shown = super::identify::shown_name(&waiting.name);
        if self.recent.len() == RECENT_CALLERS {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentCaller {
            call: waiting.call.clone(),
            number: waiting.number.clone(),
            name: waiting.name.clone(),
        });
        if !waiting.admitted {
            let number = e164.as_deref().unwrap_or(&waiting.number);
            let blocked =
                self.options
                    .blocklist
                    .check(Direction::Inbound, number, &waiting.name, now as i64);
            if let Some(entry) = blocked {
                self.refuse(now, &waiting, number, &entry);
                self.refused.insert(waiting.call);
                return Ok(());
            }
        }
        let identity = self.options.identity.identify(e164.as_deref(), &shown);
        let mut vars = render::channel_variables(identity.channel_variables());
        if !waiting.admitted {
            vars.extend(render::channel_variables(vec![(
                "playback_terminators",
                "none".to_owned(),
            )]));
        }
        self.arrival_vars.insert(waiting.call.clone(), vars);
        let arrival = CallerArrival {
            call: waiting.call.clone(),
            queue: waiting.queue,
            name: identity.label.clone().unwrap_or(shown),
            number: waiting.number,
            priority: waiting.priority.unwrap_or(identity.priority),
            enqueued_at: waiting.enqueued_at,
            answered: waiting.answered,
        };
        let call = waiting.call.clone();
        self.identities.insert(waiting.call, identity);
        let arrived = self.engine.caller_arrived(now, arrival);
        if arrived.is_err() {
            self.arrival_vars.remove(&call);
        }
        arrived
    }

    /// Gives a blocked caller the entry's treatment, none of which answers the call, and
    /// audits the attempt.
    fn refuse(&mut self, now: u64, waiting: &Waiting, e164: &str, entry: &Entry) {
        let call = &waiting.call;
        info!(%call, number = %e164, entry = entry.id, action = entry.treatment.label(), "blocked caller refused");
        if let Ok(uuid) = ChannelUuid::parse(call) {
            let steps = render::treatment(&uuid, &entry.treatment, &self.options.transfer_context);
            self.send(call, steps);
        }
        self.audit_block(now, entry, Direction::Inbound, e164, &waiting.name, call);
    }

    fn audit_block(
        &self,
        now: u64,
        entry: &Entry,
        direction: Direction,
        number: &str,
        name: &str,
        call: &str,
    ) {
        let attempt = BlockedAttempt {
            id: 0,
            entry_id: Some(entry.id),
            direction: direction.as_str().to_owned(),
            number: number.to_owned(),
            name: name.to_owned(),
            call_uuid: call.to_owned(),
            action: match direction {
                Direction::Outbound => "not_dialled".to_owned(),
                _ => entry.treatment.label().to_owned(),
            },
            at: now as i64,
        };
        self.record(Record::BlockHit(entry.id, attempt));
    }

    /// A callback to a blocked destination is not dialled: the engine hears the leg failed
    /// as barred, and gives the callback up.
    fn barred(&mut self, now: u64, leg: &str, number: &str) -> bool {
        let e164 = self
            .options
            .numbering
            .normalize(number)
            .unwrap_or_else(|_| number.to_owned());
        let Some(entry) = self
            .options
            .blocklist
            .check(Direction::Outbound, &e164, "", now as i64)
        else {
            return false;
        };
        warn!(%leg, number = %e164, entry = entry.id, "callback to a blocked destination not dialled");
        self.audit_block(now, &entry, Direction::Outbound, &e164, "", leg);
        self.engine.leg_failed(now, leg, crate::acd::BARRED);
        true
    }

    /// Carries out what the engine asked for and publishes what changed. Per channel, the
    /// variables set in one flush (an arriving caller's identification, place and priority)
    /// go in one command where the first was asked for, and a caller answered in this flush
    /// gets its first prompts without a `uuid_break`: nothing plays on a channel switchdesk
    /// only just answered (it always answers before it plays).
    fn flush(&mut self) {
        // The commands in order, each for a channel's node; a variables slot is filled last.
        let mut batch: Vec<(String, Vec<Step>)> = Vec::new();
        let mut vars: VarSlots = HashMap::new();
        let mut answered: HashSet<String> = HashSet::new();
        // Where this flush plays something to a caller: dropped if the caller is rung in the
        // same flush (`uuid_break all` would cut it at once).
        let mut playing: HashMap<String, Vec<usize>> = HashMap::new();
        let mut actions = Vec::new();
        while let Some(action) = self.engine.poll_action() {
            actions.push(action);
        }
        // One agent for a live caller: the caller's own `bridge` rings them. Ring-all (several
        // legs for one caller) and callbacks (no caller channel) originate and `uuid_bridge`.
        let mut rings: HashMap<&str, usize> = HashMap::new();
        for action in &actions {
            if let Action::RingAgent { call, .. } = action {
                *rings.entry(call.as_str()).or_default() += 1;
            }
        }
        let by_caller: HashSet<String> = rings
            .into_iter()
            .filter(|(call, n)| *n == 1 && self.engine.is_waiting(call))
            .map(|(call, _)| call.to_owned())
            .collect();
        for action in actions {
            if let Action::DialCustomer { leg, number, .. } = &action {
                if self.barred(now_ms(), leg, number) {
                    continue;
                }
            }
            if let Action::Remember { call, what } = &action {
                let Some((name, value)) = super::vars::remembered(what) else {
                    continue;
                };
                let slot = vars.entry(call.clone()).or_insert_with(|| {
                    batch.push((call.clone(), Vec::new()));
                    let first = self.arrival_vars.remove(call).unwrap_or_default();
                    (batch.len() - 1, first)
                });
                slot.1.push((name, value));
                continue;
            }
            let queue_name = match &action {
                Action::HoldMusic { queue, .. }
                | Action::Announce { queue, .. }
                | Action::ConfirmCallback { queue, .. } => Some(queue.clone()),
                _ => None,
            };
            match &action {
                // Nothing is played into a caller's ringing bridge.
                Action::HoldMusic { call, .. } | Action::Announce { call, .. }
                    if self.caller_bridges.contains_key(call) =>
                {
                    continue;
                }
                // Made by the caller's own session already.
                Action::Bridge { call, leg } if self.caller_bridges.get(call) == Some(leg) => {
                    continue;
                }
                _ => {}
            }
            let queue = queue_name
                .as_deref()
                .and_then(|q| self.engine.queue_config(q));
            let mut steps = match &action {
                Action::RingAgent { call, .. } if by_caller.contains(call) => {
                    self.ring_by_caller(&action, &mut batch, &mut vars, &mut playing, &answered)
                }
                _ => render(&action, queue, &self.options.transfer_context),
            };
            let channel = match &action {
                Action::RingAgent { leg, call, .. } => {
                    let node = self.node_of.get(call).copied().unwrap_or(0);
                    self.node_of.insert(leg.clone(), node);
                    if by_caller.contains(call) {
                        call.clone()
                    } else {
                        leg.clone()
                    }
                }
                Action::DialCustomer { leg, .. } => {
                    let node = self
                        .connections
                        .iter()
                        .position(Connection::is_connected)
                        .unwrap_or(0);
                    self.node_of.insert(leg.clone(), node);
                    leg.clone()
                }
                Action::Answer { call } => {
                    answered.insert(call.clone());
                    call.clone()
                }
                Action::HoldMusic { call, .. } | Action::Announce { call, .. } => {
                    playing.entry(call.clone()).or_default().push(batch.len());
                    if answered.remove(call) {
                        if let Some(Step::Api {
                            command: Api::Break(_),
                            ..
                        }) = steps.first()
                        {
                            steps.remove(0);
                        }
                    }
                    call.clone()
                }
                Action::Remember { call, .. }
                | Action::Bridge { call, .. }
                | Action::ConfirmCallback { call, .. }
                | Action::Transfer { call, .. }
                | Action::Hangup { call, .. } => call.clone(),
                Action::CancelLeg { leg, .. } => {
                    self.withdrawing(leg, &mut steps);
                    leg.clone()
                }
            };
            batch.push((channel, steps));
        }
        self.hold_music_again(&mut batch);
        for (call, (slot, list)) in vars {
            if let (Ok(uuid), Some(entry)) = (ChannelUuid::parse(&call), batch.get_mut(slot)) {
                entry.1.extend(render::set_vars(&uuid, list));
            }
        }
        // A caller admitted without variables from the engine (not queued after all).
        for (call, list) in std::mem::take(&mut self.arrival_vars) {
            if let Ok(uuid) = ChannelUuid::parse(&call) {
                batch.push((call, render::set_vars(&uuid, list).into_iter().collect()));
            }
        }
        for (channel, steps) in batch {
            self.send(&channel, steps);
        }
        while let Some(update) = self.engine.poll_update() {
            match &update {
                Update::AgentChanged { agent, .. } => {
                    if let Some(view) = self.engine.agent(agent) {
                        self.writes.agent(agent, agent_state(view));
                    }
                }
                Update::CallbackQueued {
                    queue,
                    id,
                    number,
                    enqueued_at,
                    attempts,
                    not_before,
                } => {
                    if !self.identities.contains_key(id) {
                        let identity = callback_identity(&self.options, number);
                        self.identities.insert(id.clone(), identity);
                    }
                    self.record(Record::Callback(StoredCallback {
                        id: id.clone(),
                        queue: queue.clone(),
                        number: number.clone(),
                        enqueued_at: *enqueued_at,
                        attempts: *attempts,
                        not_before: *not_before,
                    }));
                }
                Update::CallbackDone { id, reached, .. } => {
                    self.identities.remove(id);
                    self.record(Record::CallbackDone {
                        id: id.clone(),
                        reached: *reached,
                    });
                }
                _ => {}
            }
            let _ = self.updates.send(update);
        }
    }

    /// The steps that ring one agent from the caller's own session: the caller's set-up the
    /// first time (its variables join this flush's `uuid_setvar_multi`), then `uuid_break
    /// all` (left out when the caller was only just answered and nothing played since) and
    /// `bridge`. What this flush was going to play to the caller is dropped.
    fn ring_by_caller(
        &mut self,
        action: &Action,
        batch: &mut Vec<(String, Vec<Step>)>,
        vars: &mut VarSlots,
        playing: &mut HashMap<String, Vec<usize>>,
        answered: &HashSet<String>,
    ) -> Vec<Step> {
        let Action::RingAgent {
            leg, call, queue, ..
        } = action
        else {
            return Vec::new();
        };
        let Ok(call_id) = ChannelUuid::parse(call) else {
            return Vec::new();
        };
        let mut played = false;
        for slot in playing.remove(call).unwrap_or_default() {
            if let Some((_, steps)) = batch.get_mut(slot) {
                steps.clear();
                played = true;
            }
        }
        let mut steps = Vec::new();
        if self.bridge_ready.get(call) != Some(queue) {
            if let Some(config) = self.engine.queue_config(queue) {
                let (setup, ringback) =
                    render::caller_bridge_setup(&call_id, &config.prompts.hold_music);
                let slot = vars.entry(call.clone()).or_insert_with(|| {
                    batch.push((call.clone(), Vec::new()));
                    let first = self.arrival_vars.remove(call).unwrap_or_default();
                    (batch.len() - 1, first)
                });
                slot.1.extend(setup);
                steps.extend(ringback);
                self.bridge_ready.insert(call.clone(), queue.clone());
            }
        }
        let mut ring = render::ring_by_caller(action);
        if answered.contains(call) && !played {
            ring.retain(|step| {
                !matches!(
                    step,
                    Step::Api {
                        command: Api::Break(_),
                        ..
                    }
                )
            });
        }
        steps.extend(ring);
        self.caller_bridges.insert(call.clone(), leg.clone());
        self.silent.remove(call);
        steps
    }

    /// An offer rung by the caller's own `bridge` is withdrawn (`uuid_kill` of the leg): a
    /// caller still waiting must not be hung up if the agent answered meanwhile, so
    /// `hangup_after_bridge` goes off first (and is set again with the next offer).
    fn withdrawing(&mut self, leg: &str, steps: &mut Vec<Step>) {
        let Some(call) = self
            .caller_bridges
            .iter()
            .find(|(_, l)| *l == leg)
            .map(|(c, _)| c.clone())
        else {
            return;
        };
        if !self.engine.is_waiting(&call) {
            return;
        }
        if let (Ok(uuid), Ok(name)) = (
            ChannelUuid::parse(&call),
            VarName::parse("hangup_after_bridge"),
        ) {
            steps.insert(0, api(Api::SetVar(uuid, name, VarValue::flag(false))));
            self.bridge_ready.remove(&call);
        }
    }

    /// Callers whose `bridge` returned without a call, and who were not rung again in this
    /// flush, get the hold music of the queue they wait in.
    fn hold_music_again(&mut self, batch: &mut Vec<(String, Vec<Step>)>) {
        for call in std::mem::take(&mut self.silent) {
            if self.caller_bridges.contains_key(&call) {
                continue;
            }
            let Some(queue) = self.engine.waiting_in(&call).map(str::to_owned) else {
                continue;
            };
            let music = Action::HoldMusic {
                call: call.clone(),
                queue: queue.clone(),
            };
            let config = self.engine.queue_config(&queue);
            let steps = render(&music, config, &self.options.transfer_context);
            batch.push((call, steps));
        }
    }

    /// Hands a channel's commands to its node's executor. A full queue means the node stopped
    /// taking commands: they are dropped and the node is resynced, as after a lag.
    fn send(&mut self, channel: &str, steps: Vec<Step>) {
        if steps.is_empty() {
            return;
        }
        let node = self.node_of.get(channel).copied().unwrap_or(0);
        let Some(executor) = self.executors.get(node) else {
            return;
        };
        if let Err(TrySendError::Full(_)) = executor.try_send(steps) {
            let name = self.connections[node].node();
            if self.lagging.insert(node) {
                warn!(node = %name, %channel, "the node's executor is {STEP_BATCHES} batches behind; commands dropped, resyncing");
            }
            lagged(self.options.tasks.metrics(), name, "steps");
        }
    }

    /// Hands a record to the writer (one it has no room for is logged, not stored).
    fn record(&self, record: Record) {
        self.writes.record(record);
    }

    /// Asks the node for every channel and what this service stored on each, off this task.
    fn resync(&mut self, node: usize) {
        let Some(connection) = self.connections.get(node).cloned() else {
            return;
        };
        // What the switch's list can vouch for: channels tracked before it is asked for. One
        // that arrives meanwhile is missing from the list without being gone.
        let before: HashSet<String> = self
            .engine
            .tracked_calls()
            .into_iter()
            .chain(self.engine.tracked_legs())
            .filter(|id| self.node_of.get(id) == Some(&node))
            .collect();
        self.resync_baseline.insert(node, before);
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            let listed = match connection.api("show channels as json").await {
                Ok(body) => channel_uuids(&body),
                Err(e) => Err(e.to_string()),
            };
            let uuids = match listed {
                Ok(uuids) => uuids,
                Err(e) => {
                    warn!(node = %connection.node(), "resync failed: {e}");
                    return;
                }
            };
            let mut channels = Vec::with_capacity(uuids.len());
            for uuid in uuids {
                // Only a UUID goes back into a command.
                let Ok(uuid) = ChannelUuid::parse(&uuid) else {
                    warn!(node = %connection.node(), "channel list names {uuid:?}, not a UUID");
                    continue;
                };
                let Ok(dump) = connection.api(&Api::Dump(uuid).to_string()).await else {
                    continue;
                };
                if let Some(state) = Event::parse(EventFormat::Json, Bytes::from(dump))
                    .ok()
                    .as_ref()
                    .and_then(channel_state)
                {
                    channels.push(state);
                }
            }
            let _ = inbox.send(Msg::Resynced { node, channels }).await;
        });
    }

    /// Makes the engine agree with what the switch says exists.
    fn reconcile(&mut self, now: u64, node: usize, channels: Vec<ChannelState>) {
        let agents: HashMap<String, Option<String>> = channels
            .iter()
            .map(|c| (c.uuid.clone(), c.agent.clone()))
            .collect();
        let mut seen = HashSet::new();
        let mut adopted = 0;
        for channel in &channels {
            seen.insert(channel.uuid.clone());
            if self.ended_during_resync.contains(&channel.uuid) {
                continue;
            }
            match (channel.leg.as_deref(), &channel.queue) {
                (None, Some(queue)) => {
                    if self.engine.is_tracked(&channel.uuid) {
                        // Its own bridge answered while the events were missed.
                        if let Some(leg) = &channel.bridged_to {
                            self.answered_by_caller(now, &channel.uuid, leg);
                            self.engine.bridged(now, &channel.uuid);
                        }
                        continue;
                    }
                    self.node_of.insert(channel.uuid.clone(), node);
                    if let Some(other) = &channel.bridged_to {
                        let Some(Some(agent)) = agents.get(other) else {
                            continue;
                        };
                        self.node_of.insert(other.clone(), node);
                        match self.engine.adopt_bridged(
                            now,
                            &channel.uuid,
                            queue,
                            agent,
                            other,
                            now,
                        ) {
                            Ok(()) => adopted += 1,
                            Err(e) => warn!(call = %channel.uuid, "bridged call not adopted: {e}"),
                        }
                    } else if channel.parked {
                        let waiting = Waiting {
                            call: channel.uuid.clone(),
                            queue: queue.clone(),
                            number: channel.number.clone(),
                            name: channel.name.clone(),
                            priority: channel.priority,
                            // A caller who came while no service ran is placed by arrival time.
                            enqueued_at: Some(
                                channel.enqueued_at.unwrap_or(channel.created_ms.max(1)),
                            ),
                            answered: channel.answered,
                            admitted: channel.answered || channel.enqueued_at.is_some(),
                        };
                        match self.admit(now, waiting) {
                            Ok(()) => adopted += 1,
                            Err(e) => {
                                warn!(call = %channel.uuid, "waiting caller not adopted: {e}")
                            }
                        }
                    }
                }
                (Some(_), _) => {
                    self.node_of.insert(channel.uuid.clone(), node);
                    if self.engine.is_ringing_leg(&channel.uuid)
                        && channel.answered
                        && channel.parked
                    {
                        // Its job result was lost with the connection.
                        self.engine.leg_answered(now, &channel.uuid);
                    } else if !self.engine.is_tracked(&channel.uuid) && channel.bridged_to.is_none()
                    {
                        self.send(
                            &channel.uuid,
                            kill(&channel.uuid, HangupCause::NORMAL_CLEARING),
                        );
                    }
                }
                _ => {}
            }
        }
        let before = self.resync_baseline.remove(&node).unwrap_or_default();
        if self.resync_baseline.is_empty() {
            self.ended_during_resync.clear();
        }
        let gone: Vec<String> = self
            .engine
            .tracked_calls()
            .into_iter()
            .chain(self.engine.tracked_legs())
            .filter(|id| {
                self.node_of.get(id) == Some(&node) && before.contains(id) && !seen.contains(id)
            })
            .collect();
        for id in &gone {
            self.engine
                .channel_hung_up(now, id, "NORMAL_TEMPORARY_FAILURE");
            self.node_of.remove(id);
        }
        info!(node = %self.connections[node].node(), channels = channels.len(), adopted, gone = gone.len(), "resync done");
    }

    fn answer(&mut self, now: u64, request: Request) {
        match request {
            Request::Queues(reply) => {
                let _ = reply.send(self.engine.queues(now));
            }
            Request::Identities(reply) => {
                let _ = reply.send(self.identities.clone());
            }
            Request::Caller(call, reply) => {
                let found = self.recent.iter().rev().find(|c| c.call == call).cloned();
                let _ = reply.send(found);
            }
            Request::Eject(call, reply) => {
                let waiting = self.engine.is_waiting(&call);
                if waiting {
                    self.send(&call, kill(&call, HangupCause::CALL_REJECTED));
                }
                let _ = reply.send(waiting);
            }
            Request::Agent(name, reply) => {
                let _ = reply.send(self.engine.agent(&name));
            }
            Request::AgentStatus(name, status, reply) => {
                let _ = reply.send(
                    self.engine
                        .set_agent_status(now, &name, status)
                        .map_err(BoardError::from),
                );
            }
            Request::SaveQueue(config, reply) => self.admin(AdminWrite::SaveQueue(config), reply),
            Request::DeleteQueue(name, reply) => self.admin(AdminWrite::DeleteQueue(name), reply),
            Request::SaveAgent(config, reply) => self.admin(AdminWrite::SaveAgent(config), reply),
            Request::DeleteAgent(name, reply) => self.admin(AdminWrite::DeleteAgent(name), reply),
            Request::MoveCaller(call, queue, reply) => {
                let result = self.engine.move_caller(now, &call, &queue);
                if result.is_ok() {
                    info!(%call, %queue, "caller moved by a supervisor");
                }
                let _ = reply.send(result.map_err(BoardError::from));
            }
            Request::ToFront(call, reply) => {
                let _ = reply.send(self.engine.to_front(now, &call).map_err(BoardError::from));
            }
            Request::Eavesdrop(ask, reply) => self.eavesdrop(ask, reply),
        }
    }
}

/// Settings changes: checked against the engine, stored by the writer one at a time, in the
/// order they came, and answered once stored. A save takes effect when its row committed; a
/// delete takes effect when asked (nobody is queued to a queue being deleted, an agent being
/// deleted is logged out) and is undone if it does not commit. One at a time, each change is
/// checked against the engine as every earlier one left it: two saves of a queue land in
/// order, and a delete asked while a save of the same queue is stored is checked after it.
impl Switchboard {
    fn admin(&mut self, write: AdminWrite, reply: Reply) {
        if self.admin_waiting.len() >= ADMIN_WAITING {
            let _ = reply.send(Err(BoardError::Busy));
            return;
        }
        self.admin_waiting.push_back((write, reply));
        self.next_admin_write();
    }

    /// Hands the next valid waiting change to the writer, unless one is in flight.
    fn next_admin_write(&mut self) {
        while self.admin_in_flight.is_none() {
            let Some((write, reply)) = self.admin_waiting.pop_front() else {
                return;
            };
            match self.prepare(now_ms(), &write) {
                Ok(undo) => {
                    self.tickets += 1;
                    self.writes.admin(self.tickets, write.clone());
                    self.admin_in_flight = Some(InFlight {
                        ticket: self.tickets,
                        write,
                        reply,
                        undo,
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }

    /// Checks a change against the engine; a delete is carried out here (what it took out is
    /// returned, to put back should the delete not commit).
    fn prepare(&mut self, now: u64, write: &AdminWrite) -> Result<Option<Undo>, BoardError> {
        match write {
            AdminWrite::SaveQueue(config) => {
                let mut problems = config.problems();
                problems.extend(self.engine.queue_reference_problems(config));
                if !problems.is_empty() {
                    return Err(AcdError::Invalid(problems).into());
                }
                Ok(None)
            }
            AdminWrite::SaveAgent(config) => {
                let mut problems = config.problems();
                for m in &config.queues {
                    if self.engine.queue_config(&m.queue).is_none() {
                        problems.push(format!("no queue named {:?}", m.queue));
                    }
                }
                if !problems.is_empty() {
                    return Err(AcdError::Invalid(problems).into());
                }
                Ok(None)
            }
            AdminWrite::DeleteQueue(name) => {
                let config = self.engine.queue_config(name).cloned().map(Box::new);
                self.engine.remove_queue(name)?;
                Ok(config.map(Undo::Queue))
            }
            AdminWrite::DeleteAgent(name) => {
                let kept = self
                    .engine
                    .agent_config(name)
                    .cloned()
                    .zip(self.engine.agent(name));
                self.engine.remove_agent(now, name)?;
                Ok(kept.map(|(config, view)| Undo::Agent(config, agent_state(view))))
            }
        }
    }

    /// The writer's outcome for the change in flight: applied (or undone) and answered.
    fn stored(&mut self, now: u64, ticket: u64, result: Result<(), StoreError>) {
        // A restarted writer may report a change again.
        let Some(in_flight) = self
            .admin_in_flight
            .take_if(|in_flight| in_flight.ticket == ticket)
        else {
            return;
        };
        let answer = match result {
            Ok(()) => match in_flight.write {
                AdminWrite::SaveQueue(config) => self.engine.set_queue(now, *config),
                AdminWrite::SaveAgent(config) => self.engine.set_agent(now, config),
                AdminWrite::DeleteQueue(_) | AdminWrite::DeleteAgent(_) => Ok(()),
            }
            .map_err(|e| {
                error!("stored settings not taken by the engine: {e}");
                BoardError::from(e)
            }),
            Err(e) => {
                match in_flight.undo {
                    Some(Undo::Queue(config)) => {
                        if let Err(e) = self.engine.set_queue(now, *config) {
                            error!("queue not put back after its delete failed: {e}");
                        }
                    }
                    Some(Undo::Agent(config, state)) => {
                        let name = config.name.clone();
                        let restored = self.engine.set_agent(now, config).and_then(|()| {
                            self.engine.restore_agent(
                                &name,
                                state.status,
                                state.calls,
                                state.talk_ms,
                            )
                        });
                        if let Err(e) = restored {
                            error!(agent = %name, "agent not put back after its delete failed: {e}");
                        }
                    }
                    None => {}
                }
                Err(e.into())
            }
        };
        let _ = in_flight.reply.send(answer);
        self.next_admin_write();
    }
}

/// Each queue's counters and each agent's calls and talk time since `start`, from the
/// stored intervals.
async fn day_so_far(
    store: &Store,
    start: u64,
) -> Result<(HashMap<String, Counters>, HashMap<String, AgentTotals>), StoreError> {
    let mut queues: HashMap<String, Counters> = HashMap::new();
    for row in store.queue_intervals(start, u64::MAX >> 1, "").await? {
        queues.entry(row.queue).or_default().add(&row.counters);
    }
    let mut agents: HashMap<String, AgentTotals> = HashMap::new();
    for row in store.agent_intervals(start, u64::MAX >> 1, "").await? {
        let totals = agents.entry(row.agent).or_default();
        totals.calls += row.time.calls_answered;
        totals.talk_ms += row.time.talk_ms;
    }
    Ok((queues, agents))
}

/// What of an agent is stored as it changes.
fn agent_state(view: AgentView) -> AgentState {
    AgentState {
        status: view.status,
        calls: view.calls,
        talk_ms: view.talk_secs * 1000,
    }
}

/// Counts a node resynced because a queue between the switchboard's tasks was full.
fn lagged(metrics: &Metrics, node: &str, queue: &str) {
    metrics.inc(
        SWITCHBOARD_LAGGED_TOTAL,
        "Times a node's events or commands were dropped because a queue between the \
         switchboard's tasks was full, and the node resynced.",
        &[("node", node), ("queue", queue)],
        1,
    );
}

impl Switchboard {
    /// Originates the supervisor into `eavesdrop` of the agent's leg, on the agent leg's node,
    /// off this task: the answer comes when the supervisor picked up (or did not).
    fn eavesdrop(&self, ask: EavesdropAsk, reply: oneshot::Sender<Result<Eavesdrop, BoardError>>) {
        let (call, agent_leg) = match self.engine.agent_leg(&ask.agent) {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let leg = uuid::Uuid::new_v4().to_string();
        let (Ok(leg_id), Ok(agent_leg_id)) =
            (ChannelUuid::parse(&leg), ChannelUuid::parse(&agent_leg))
        else {
            let _ = reply.send(Err(BoardError::Switch(format!(
                "the agent's leg {agent_leg:?} is not a channel UUID"
            ))));
            return;
        };
        let node = self.node_of.get(&agent_leg).copied().unwrap_or(0);
        let Some(connection) = self.connections.get(node).cloned() else {
            let _ = reply.send(Err(BoardError::Switch("no FreeSWITCH node".into())));
            return;
        };
        let command =
            render::eavesdrop(&leg_id, &agent_leg_id, &ask.agent, ask.mode, &ask.endpoint)
                .to_string();
        info!(agent = %ask.agent, mode = ?ask.mode, endpoint = %ask.endpoint, by = %ask.by, %leg, "supervisor joins an agent's call");
        let joined = Eavesdrop {
            leg,
            agent: ask.agent,
            agent_leg,
            call,
            mode: ask.mode,
            endpoint: ask.endpoint,
        };
        tokio::spawn(async move {
            let result = match connection.bgapi(&command).await {
                Ok(job) => job.result().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let outcome = match result {
                Ok(body) if body.starts_with("+OK") => Ok(joined),
                Ok(body) => {
                    let cause = body.trim().trim_start_matches("-ERR").trim();
                    warn!(leg = %joined.leg, "supervisor not connected: {cause}");
                    Err(BoardError::Switch(cause.to_owned()))
                }
                Err(e) => Err(BoardError::Switch(e)),
            };
            let _ = reply.send(outcome);
        });
    }
}

/// Logs each queue or agent of the configuration file that the database holds differently:
/// the database's version is the one in force.
fn warn_where_the_file_differs(
    queues_in_file: &[&QueueConfig],
    agents_in_file: &[&AgentConfig],
    queues: &[Result<QueueConfig, StoreError>],
    agents: &[Result<StoredAgent, StoreError>],
) {
    let differs = queues_in_file
        .iter()
        .filter(|q| !queues.iter().flatten().any(|stored| stored == **q))
        .map(|q| ("queue", &q.name))
        .chain(
            agents_in_file
                .iter()
                .filter(|a| !agents.iter().flatten().any(|stored| stored.config == ***a))
                .map(|a| ("agent", &a.name)),
        );
    for (kind, name) in differs {
        warn!(
            "{kind} {name:?} in the configuration file differs from the database, which \
             rules since it was first created: change it with PUT /api/{kind}s/{name} (or \
             in the admin screen); the file's version is not applied"
        );
    }
}

/// Who a callback's number is, for a callback whose caller's identification is not at hand
/// (restored after a restart, or queued without a live caller).
fn callback_identity(options: &BoardOptions, number: &str) -> Identity {
    let e164 = number.starts_with('+').then_some(number);
    options.identity.identify(e164, "")
}

/// Whether FreeSWITCH still has `uuid` as a live channel. A hung-up channel lingering in
/// CS_REPORTING answers false (its read lock is refused once the channel is down); so does a
/// switch that cannot be asked, since offering a caller nobody can confirm rings agents for
/// nothing, and a caller still there is found again by the next resync.
async fn channel_exists(connection: &Connection, uuid: &str) -> bool {
    let Ok(uuid) = ChannelUuid::parse(uuid) else {
        return false;
    };
    matches!(
        connection.api(&Api::Exists(uuid).to_string()).await,
        Ok(body) if body.trim() == "true"
    )
}

/// `uuid_kill` of a channel the switchboard tracks (nothing if its id is not a UUID).
fn kill(channel: &str, cause: HangupCause) -> Vec<Step> {
    ChannelUuid::parse(channel)
        .map(|uuid| vec![api(Api::Kill(uuid, cause))])
        .unwrap_or_default()
}

/// Sends one node's commands in order; results that matter go back to the switchboard. An
/// `api` whose reply nothing reads, followed by another `api` (the `uuid_break` before a
/// `uuid_bridge`), is not waited for: both go out back to back, in order (FreeSWITCH runs a
/// connection's `api`s one after the other, and the connection matches replies in order).
async fn execute(
    connection: Connection,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Vec<Step>>>>,
    inbox: mpsc::Sender<Msg>,
) {
    let mut queue = queue.lock().await;
    while let Some(steps) = queue.recv().await {
        let mut steps = steps.into_iter().peekable();
        while let Some(step) = steps.next() {
            match step {
                Step::Api {
                    command,
                    bridge_of: None,
                } if matches!(steps.peek(), Some(Step::Api { .. })) => {
                    let Some(Step::Api {
                        command: next,
                        bridge_of,
                    }) = steps.next()
                    else {
                        continue;
                    };
                    let (first, second) = (command.to_string(), next.to_string());
                    let replies = connection.api_pipelined(&[&first, &second]).await;
                    let mut refused = false;
                    for (command, reply) in [&first, &second].into_iter().zip(replies) {
                        refused = refused_reply(command, reply);
                    }
                    if let (true, Some(call)) = (refused, bridge_of) {
                        bridge_refused(&connection, &inbox, call).await;
                    }
                }
                Step::Api { command, bridge_of } => {
                    let refused = send_api(&connection, &command.to_string()).await;
                    if let (true, Some(call)) = (refused, bridge_of) {
                        bridge_refused(&connection, &inbox, call).await;
                    }
                }
                Step::Originate { command, leg } => {
                    match connection.bgapi(&command.to_string()).await {
                        Ok(job) => {
                            let inbox = inbox.clone();
                            tokio::spawn(async move {
                                let result = job.result().await.map_err(|e| e.to_string());
                                let _ = inbox.send(Msg::LegResult { leg, result }).await;
                            });
                        }
                        Err(e) => {
                            let result = Err(e.to_string());
                            let _ = inbox.send(Msg::LegResult { leg, result }).await;
                        }
                    }
                }
                Step::Ring { call, app, leg } => {
                    let sent = connection
                        .sendmsg(call.as_str(), app.call_command(), None)
                        .await;
                    if let Err(e) = sent {
                        let result = Err(e.to_string());
                        let _ = inbox.send(Msg::LegResult { leg, result }).await;
                    }
                }
                Step::Execute { uuid, app } => {
                    if let Err(e) = connection
                        .sendmsg(uuid.as_str(), app.call_command(), None)
                        .await
                    {
                        debug!(%uuid, ?app, "sendmsg not carried out: {e}");
                    }
                }
            }
        }
    }
}

/// `api <command>`; true when FreeSWITCH refused it (`-ERR`) or it could not be sent.
async fn send_api(connection: &Connection, command: &str) -> bool {
    refused_reply(command, connection.api(command).await)
}

/// Whether an `api` reply is a refusal (logged).
fn refused_reply(command: &str, reply: Result<String, crate::esl::ConnectionError>) -> bool {
    match reply {
        Ok(body) if body.starts_with("-ERR") => {
            debug!(%command, "FreeSWITCH answered {}", body.trim_end());
            true
        }
        Ok(_) => false,
        Err(e) => {
            warn!(%command, "not carried out: {e}");
            true
        }
    }
}

/// Where a node's events go.
#[derive(Clone)]
struct Forward {
    inbox: mpsc::Sender<Msg>,
    /// The node's index in the switchboard.
    index: usize,
    /// The node's name, for logs and metrics.
    node: String,
    metrics: Arc<Metrics>,
}

/// Hands one node's events to the switchboard; `restarted` (after a failure, when events
/// were missed) asks for the node to be read again first. An event that finds the inbox full
/// is dropped, and the node is resynced once the switchboard has room for the request: the
/// forwarder waits for it, while the event socket's reader goes on (its broadcast sheds a
/// forwarder that falls further behind, which is lag again).
async fn forward_events(
    mut events: broadcast::Receiver<ConnectionEvent>,
    forward: Forward,
    restarted: bool,
) {
    let index = forward.index;
    if restarted && forward.inbox.send(Msg::Lagged(index)).await.is_err() {
        return;
    }
    loop {
        match events.recv().await {
            Ok(event) => match forward.inbox.try_send(Msg::Esl(index, event)) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    warn!(node = %forward.node, "switchboard inbox full; event dropped, resyncing");
                    lagged(&forward.metrics, &forward.node, "inbox");
                    if forward.inbox.send(Msg::Lagged(index)).await.is_err() {
                        break;
                    }
                }
                Err(TrySendError::Closed(_)) => break,
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                warn!(
                    node = %forward.node,
                    skipped = n,
                    "switchboard fell behind the event socket; resyncing"
                );
                if forward.inbox.send(Msg::Lagged(index)).await.is_err() {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// A refused `uuid_bridge` of `call`: the switchboard hears whether the caller is still there.
async fn bridge_refused(connection: &Connection, inbox: &mpsc::Sender<Msg>, call: String) {
    let caller_gone = !channel_exists(connection, &call).await;
    let _ = inbox.send(Msg::BridgeFailed { call, caller_gone }).await;
}
