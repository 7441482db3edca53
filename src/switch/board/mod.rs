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

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::{debug, error, info, warn};

mod events;
mod executor;
mod flush;
mod lead;
mod load;
mod mirror;
mod notice;
mod requests;
mod resync;

use super::identify::{CallerIdentity, Identity};
use super::interpret::{channel_state, channel_uuids, interpret, ChannelState, Input};
use super::render::{self, api, render, Api, EavesdropMode, Step};
use super::writer::{self, AdminWrite, AgentState, Record, Stored, Writes};
use crate::acd::stats::{AgentTotals, Counters};
use crate::acd::{
    AcdError, Action, AgentConfig, AgentStatus, AgentView, CallerArrival, Engine, LineCallback,
    QueueConfig, QueueView, Update,
};
use crate::blocklist::{Blocklist, Direction, Entry};
use crate::clock::{self, Millis};
use crate::directory::number::Numbering;
use crate::esl::event::EventFormat;
use crate::esl::{Connection, ConnectionEvent, Event};
use crate::fsarg::{ChannelUuid, DialplanContext, Endpoint, HangupCause, VarName, VarValue};
use crate::leadership::{Leadership, Role};
use crate::metrics::{Metrics, SWITCHBOARD_LAGGED_TOTAL};
use crate::stats::{Day, StatsConfig};
use crate::store::{BlockedAttempt, Store, StoreError, StoredAgent, StoredCallback};
use crate::supervise::{Policy, Tasks};
use executor::{execute, forward_events, kill, Forward};
use load::Loader;
pub use mirror::{LiveView, MirrorChange, ViewSource};
use mirror::{Mirror, Publishing};

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
    /// This instance stands by (or is taking the lead): only the leader drives the queues.
    #[error("{}", standby_text(.leader))]
    Standby {
        /// The leader's address, when the database names one.
        leader: Option<String>,
    },
}

fn standby_text(leader: &Option<String>) -> String {
    match leader {
        Some(address) => format!("this instance stands by; the leader is at {address}"),
        None => "this instance stands by and no leader is known yet; try again shortly".into(),
    }
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

/// A caller to be called back from a support line's queue (see [`Board::call_back_from`]).
struct CallBackAsk {
    queue: String,
    number: String,
    enqueued_at: Millis,
    create: bool,
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
    /// Whether this instance leads: only then does the switchboard drive the queues.
    pub leadership: Leadership,
    /// Where the writer stores queue state: on PostgreSQL a pool fenced by the leader's
    /// epoch (`Store::fenced`); `None`: the store given to `Board::start`.
    pub writer_store: Option<Store>,
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
            leadership: Leadership::single("switchdesk"),
            writer_store: None,
        }
    }
}

enum Request {
    Queues(oneshot::Sender<(Vec<QueueView>, ViewSource)>),
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
    CallBack(
        CallBackAsk,
        oneshot::Sender<Result<Option<LineCallback>, BoardError>>,
    ),
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
    /// This instance's role changed.
    Role(Role),
    /// The leader's published view, read by a standby.
    Mirrored(Box<Mirror>),
    /// The engine as the database holds it, loaded for the `generation`th role change.
    Loaded {
        generation: u64,
        loaded: Box<Result<load::Loaded, BoardError>>,
    },
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
    enqueued_at: Option<Millis>,
    /// Counted as offered by the run that first queued it (see `CallerArrival::counted`).
    counted: bool,
    answered: bool,
    /// Already let in by an earlier run of the service (it carries its place, or was
    /// answered): not checked against the blocklist again.
    admitted: bool,
}

/// Per channel, the variables one flush sets (with the index of their step in the batch).
type VarSlots = HashMap<String, (usize, Vec<(VarName, VarValue)>)>;

/// A caller seen lately (waiting, connected or gone), for "block this caller".
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The organizations with an incident not resolved (id → name), for the queue's notice.
    incidents: std::sync::Arc<watch::Sender<IncidentOrganizations>>,
    mirror_changes: broadcast::Sender<MirrorChange>,
}

/// The organizations with an incident not resolved: id → name (see
/// [`Board::set_incident_organizations`]).
pub type IncidentOrganizations = HashMap<i64, String>;

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
        let loader = Loader {
            store: store.clone(),
            seed: options.seed,
            stats: options.stats.clone(),
            identity: options.identity.clone(),
        };
        let (engine, identities) = loader.load(0, Some((&kept_queues, &kept_agents))).await?;

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
        let writing = options
            .writer_store
            .clone()
            .unwrap_or_else(|| store.clone());
        let (writer, outcomes) = (Arc::new(writer), inbox.clone());
        tasks.spawn("switchboard-writer", Policy::RestartOnPanic, move || {
            let (store, writer, inbox) = (writing.clone(), Arc::clone(&writer), outcomes.clone());
            async move { writer.run(store, inbox).await }
        });
        // Role changes reach the routing loop as messages, in order.
        let (watched, roles) = (options.leadership.clone(), inbox.clone());
        tasks.spawn(
            "switchboard-leadership",
            Policy::RestartOnPanic,
            move || {
                let (mut watch, roles) = (watched.watch(), roles.clone());
                async move {
                    loop {
                        let role = watch.borrow_and_update().clone();
                        if roles.send(Msg::Role(role)).await.is_err()
                            || watch.changed().await.is_err()
                        {
                            break;
                        }
                    }
                }
            },
        );
        // The warm view: published while leading among others, followed while standing by
        // (a single instance has nobody to publish to).
        let (views, published) = tokio::sync::watch::channel(None);
        if options.leadership.role() != Role::Single {
            let publishing_store = options
                .writer_store
                .clone()
                .unwrap_or_else(|| store.clone());
            let instance = options.leadership.instance().to_owned();
            tasks.spawn("switchboard-publisher", Policy::RestartOnPanic, move || {
                let (store, instance, views) = (
                    publishing_store.clone(),
                    instance.clone(),
                    published.clone(),
                );
                mirror::publish(store, instance, views)
            });
            let (following, leadership, mirrored) =
                (store.clone(), options.leadership.clone(), inbox.clone());
            tasks.spawn("switchboard-follower", Policy::RestartOnPanic, move || {
                mirror::follow(following.clone(), leadership.clone(), mirrored.clone())
            });
        }
        let (mirror_changes, _) = broadcast::channel(1_024);
        let now = clock::now();
        let day = options.stats.day();
        let (incidents, incident_organizations) = watch::channel(IncidentOrganizations::new());
        let board = Switchboard {
            incident_organizations,
            noticed: HashSet::new(),
            leads: options.leadership.role() == Role::Single,
            driving: options.leadership.role() == Role::Single,
            loads: 0,
            loader,
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
            surveyed: HashMap::new(),
            inbox: inbox.clone(),
            updates: updates.clone(),
            writes,
            admin_waiting: std::collections::VecDeque::new(),
            admin_in_flight: None,
            tickets: 0,
            lagging: HashSet::new(),
            next_day: day.next_start(now),
            day,
            publishing: Publishing::new(views),
            mirror: None,
            mirror_changes: mirror_changes.clone(),
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
        Ok(Board {
            inbox,
            updates,
            incidents: std::sync::Arc::new(incidents),
            mirror_changes,
        })
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

    /// The organizations with an incident not resolved (id → name), replacing the last set:
    /// their callers hear the incident notice in the queue before their position.
    pub fn set_incident_organizations(&self, organizations: IncidentOrganizations) {
        self.incidents.send_replace(organizations);
    }

    /// Every engine update from now on (caller joined, left, announced, agent changed...).
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// While this instance stands by, what changed in the leader's view it serves (the
    /// leader's updates come with it; they are not this instance's [`Board::subscribe`]).
    pub fn subscribe_mirror(&self) -> broadcast::Receiver<MirrorChange> {
        self.mirror_changes.subscribe()
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
        Ok(self.queues_and_source().await?.0)
    }

    /// The queues, and whose view they are (a standby serves the leader's).
    pub async fn queues_and_source(&self) -> Result<(Vec<QueueView>, ViewSource), BoardError> {
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

    /// Has the caller of `number` called back from `queue` (a support line's): a callback
    /// waiting for them moves there keeping its place; without one, when `create`, one is
    /// queued there, placed at `enqueued_at`. Stored like every callback (it survives a
    /// restart); `None` when nothing waited and nothing was to be created.
    pub async fn call_back_from(
        &self,
        queue: &str,
        number: &str,
        enqueued_at: Millis,
        create: bool,
    ) -> Result<Option<LineCallback>, BoardError> {
        let ask = CallBackAsk {
            queue: queue.to_owned(),
            number: number.to_owned(),
            enqueued_at,
            create,
        };
        self.ask(|r| Request::CallBack(ask, r)).await?
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
    /// The organizations with an incident not resolved: their waiting callers hear the
    /// notice once (`incidents`).
    incident_organizations: watch::Receiver<IncidentOrganizations>,
    /// Callers who heard the incident notice.
    noticed: HashSet<String>,
    /// This instance leads (its role says so).
    leads: bool,
    /// It leads and its engine was loaded for this lead: events are read, commands sent,
    /// timers run. Otherwise events are not read, nothing is sent, and the API's engine
    /// writes are answered [`BoardError::Standby`].
    driving: bool,
    /// Role changes so far; a load for an earlier one is stale.
    loads: u64,
    loader: Loader,
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
    /// Callers set up to stay after the call (their queue's `survey`), with that queue: a
    /// `bridge` that returns after the talk leads to the survey (`switch::survey`).
    surveyed: HashMap<String, String>,
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
    next_day: Millis,
    /// Leading among others: the view published for the standbys.
    publishing: Publishing,
    /// Standing by: the leader's view, served instead of the engine's.
    mirror: Option<Mirror>,
    mirror_changes: broadcast::Sender<MirrorChange>,
    options: BoardOptions,
}

impl Switchboard {
    /// The routing loop. It awaits only its inbox and the engine's next deadline: everything
    /// it asks of the switch, the database or another task is handed over without waiting,
    /// and what comes back arrives as a message.
    async fn run(mut self, mut messages: mpsc::Receiver<Msg>) {
        loop {
            // Standing by, the engine's timers do not run: nothing it would do is carried out.
            let deadline = self
                .engine
                .next_deadline()
                .filter(|_| self.driving)
                .map_or(self.next_day, |at| at.min(self.next_day));
            let deadline = self
                .publish_deadline()
                .map_or(deadline, |at| at.min(deadline));
            let wait = clock::wait(clock::now(), deadline);
            tokio::select! {
                message = messages.recv() => {
                    let Some(message) = message else { break };
                    if matches!(message, Msg::Stop) {
                        break;
                    }
                    // A busy inbox must not keep the day from turning.
                    self.new_day_if_due(clock::now());
                    self.handle(message);
                }
                _ = tokio::time::sleep(wait) => {
                    let now = clock::now();
                    self.new_day_if_due(now);
                    if self.driving {
                        self.engine.tick(now);
                    }
                }
            }
            if self.driving {
                self.flush();
                self.publish_if_due(clock::now());
            } else {
                // Nothing leaves a standby; its engine only answers reads.
                while self.engine.poll_action().is_some() {}
                while self.engine.poll_update().is_some() {}
                self.lagging.clear();
            }
            for node in std::mem::take(&mut self.lagging) {
                self.resync(node);
            }
        }
        debug!("switchboard stopped");
    }

    /// At the day's start, the counters start again from zero (what happens from `now` on
    /// counts in the new day).
    fn new_day_if_due(&mut self, now: Millis) {
        if now >= self.next_day {
            info!("a new day: queue and agent counters start again");
            self.engine.start_day(&HashMap::new(), &HashMap::new());
            self.next_day = self.day.next_start(now);
        }
    }

    fn handle(&mut self, message: Msg) {
        let now = clock::now();
        let message = match message {
            Msg::Role(role) => return self.role_changed(role),
            Msg::Mirrored(mirror) => return self.mirrored(*mirror),
            Msg::Loaded { generation, loaded } => return self.loaded(generation, *loaded),
            Msg::Request(request) if !self.driving => {
                return self.answer_standing_by(now, *request)
            }
            Msg::Stored(stored) if !self.driving => return self.stored_standing_by(stored),
            // What the switch says (and results of what an earlier lead sent) wait for the
            // resync that starts the next lead.
            _ if !self.driving => return,
            message => message,
        };
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
            Msg::Role(_) | Msg::Mirrored(_) | Msg::Loaded { .. } | Msg::Stop => {}
        }
    }
}

/// Each queue's counters and each agent's calls and talk time since `start`, from the
/// stored intervals.
async fn day_so_far(
    store: &Store,
    start: Millis,
) -> Result<(HashMap<String, Counters>, HashMap<String, AgentTotals>), StoreError> {
    let mut queues: HashMap<String, Counters> = HashMap::new();
    for row in store.queue_intervals(start, Millis::MAX, "").await? {
        queues.entry(row.queue).or_default().add(&row.counters);
    }
    let mut agents: HashMap<String, AgentTotals> = HashMap::new();
    for row in store.agent_intervals(start, Millis::MAX, "").await? {
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
