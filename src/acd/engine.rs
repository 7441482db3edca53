//! The queue engine: a state machine with no IO and no clock. Every input carries `now`;
//! outputs are drained with [`Engine::poll_action`] and [`Engine::poll_update`]; timers are
//! asked for with [`Engine::next_deadline`] and fired by [`Engine::tick`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use super::config::{AgentConfig, NoAgents, Overflow, QueueConfig, Strategy, MAX_QUEUE_SECS};
use super::output::{Action, Departure, Update};
use super::stats::{expected_wait_minutes, AnswerRate, Counters};
use super::view::{AgentView, QueueView, WaitingView};
use super::Millis;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("no queue named {0:?}")]
    UnknownQueue(String),
    #[error("no agent named {0:?}")]
    UnknownAgent(String),
    #[error("call {0} is already queued")]
    DuplicateCall(String),
    #[error("queue {0:?} still has callers waiting")]
    QueueBusy(String),
    #[error("no call {0} in any queue")]
    UnknownCall(String),
    /// Only a live caller still in the waiting order can be moved: not one being connected,
    /// already connected, or a callback keeping a place.
    #[error("call {0} is not waiting in a queue")]
    NotWaiting(String),
    #[error("agent {0:?} is not in a call")]
    NotInCall(String),
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// A caller parked by the dialplan, or re-adopted after a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerArrival {
    pub call: String,
    pub queue: String,
    pub number: String,
    pub name: String,
    pub priority: i32,
    /// From the caller leg's `switchdesk_enqueued_at`, when re-adopting: keeps the place.
    pub enqueued_at: Option<Millis>,
    pub answered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum AgentStatus {
    LoggedOut,
    Available,
    OnBreak(String),
}

impl AgentStatus {
    pub fn label(&self) -> &'static str {
        match self {
            AgentStatus::LoggedOut => "logged_out",
            AgentStatus::Available => "available",
            AgentStatus::OnBreak(_) => "on_break",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    Idle,
    Ringing,
    InCall,
    WrapUp { until: Millis },
}

impl Agent {
    /// How the agent shows, in a queue at `tier` and `position` (0 outside any queue).
    fn view(&self, name: &str, tier: u32, position: u32) -> AgentView {
        AgentView {
            name: name.to_owned(),
            endpoint: self.config.endpoint.clone(),
            tier,
            position,
            status: self.status.clone(),
            activity: self.activity.label().to_owned(),
            since: self.since,
            wrap_up_until: match self.activity {
                Activity::WrapUp { until } => Some(until),
                _ => None,
            },
            call: self.caller.clone(),
            calls: self.calls,
            talk_secs: self.talk_ms / 1000,
        }
    }
}

impl Activity {
    fn label(self) -> &'static str {
        match self {
            Activity::Idle => "idle",
            Activity::Ringing => "ringing",
            Activity::InCall => "in_call",
            Activity::WrapUp { .. } => "wrap_up",
        }
    }
}

/// Waiting order: higher priority first, then earlier arrival, then arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey {
    priority: Reverse<i32>,
    enqueued_at: Millis,
    seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Live,
    /// Hung up to be called back; keeps the place under the same id.
    Callback {
        attempts: u32,
        not_before: Millis,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum CallerState {
    Waiting,
    Offered(u64),
    /// An agent answered; the bridge (or the callback dial) is under way.
    Bridging {
        agent: String,
        leg: String,
    },
    Bridged {
        agent: String,
        leg: String,
        since: Millis,
    },
}

#[derive(Clone, Debug, Default)]
struct AnnounceState {
    last_at: Option<Millis>,
    last_position: Option<u32>,
}

#[derive(Clone, Debug)]
struct Caller {
    id: String,
    queue: String,
    number: String,
    name: String,
    key: OrderKey,
    kind: Kind,
    state: CallerState,
    announce: AnnounceState,
    /// The channel that is (or will be) bridged: the caller's own, or the callback's customer leg.
    call_leg: Option<String>,
    /// Where the current queue's `max_wait_secs` counts from: the arrival, or the moment the
    /// caller was sent to this queue (overflow, a supervisor's move).
    limit_from: Millis,
}

#[derive(Clone, Debug)]
struct Agent {
    config: AgentConfig,
    status: AgentStatus,
    activity: Activity,
    since: Millis,
    idle_since: Millis,
    backoff_until: Millis,
    missed: u32,
    calls: u64,
    talk_ms: u64,
    caller: Option<String>,
}

/// A caller's place in a queue's waiting order, carrying what the position-change pass reads,
/// so that pass walks the order alone (no lookup per waiting caller).
#[derive(Clone, Debug)]
struct Place {
    id: String,
    /// A caller on the line (not a callback keeping the place).
    live: bool,
    last_at: Option<Millis>,
    last_position: Option<u32>,
}

impl Place {
    fn of(c: &Caller) -> Place {
        Place {
            id: c.id.clone(),
            live: c.kind == Kind::Live,
            last_at: c.announce.last_at,
            last_position: c.announce.last_position,
        }
    }
}

struct Queue {
    /// Shared, so reading a queue's settings on a hot path is a reference count, not a copy.
    config: Arc<QueueConfig>,
    order: BTreeMap<OrderKey, Place>,
    /// Agent names in (tier, position, name) order.
    members: Vec<(u32, u32, String)>,
    rr_next: usize,
    counters: Counters,
    rate: AnswerRate,
    dirty: bool,
    /// When a caller who moved up may next be told so: one timer per queue, not per caller.
    announce_at: Option<Millis>,
    /// This queue's offset within each second for batched announcements, so queues take
    /// turns instead of all announcing in the same millisecond.
    phase: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegRole {
    Agent,
    Customer,
}

#[derive(Clone, Debug)]
struct Leg {
    offer: u64,
    agent: String,
    role: LegRole,
    /// Seen answered (a customer leg stays a leg of the offer after that).
    answered: bool,
}

#[derive(Clone, Debug)]
struct Offer {
    caller: String,
    ringing: Vec<String>,
    taken: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Offer(u64),
    Agent(String),
    Caller(String),
    Queue(String),
    /// Callers of this queue who moved up may be told their new position now.
    Announce(String),
}

/// At most this many position-change announcements per queue at once...
const ANNOUNCE_BURST: usize = 8;

/// The hangup cause of a leg that was never placed because its destination is blocked.
pub const BARRED: &str = "OUTGOING_CALL_BARRED";
/// ...and the next ones this much later.
const ANNOUNCE_SPREAD_MS: Millis = 250;

/// Timers by due time; ties keep insertion order. Only `(at, seq)` is compared, so a heap of
/// thousands of timers never compares their payloads.
#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<TimerEntry>>,
    seq: u64,
}

struct TimerEntry {
    at: Millis,
    seq: u64,
    timer: Timer,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for TimerEntry {}

impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TimerEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Timers {
    fn push(&mut self, at: Millis, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse(TimerEntry {
            at,
            seq: self.seq,
            timer,
        }));
    }

    fn next_at(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }

    fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        if self.next_at()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry.timer)
    }
}

/// The queue engine. See the module documentation of [`crate::acd`].
pub struct Engine {
    queues: BTreeMap<String, Queue>,
    agents: HashMap<String, Agent>,
    callers: HashMap<String, Caller>,
    legs: HashMap<String, Leg>,
    offers: HashMap<u64, Offer>,
    timers: Timers,
    actions: VecDeque<Action>,
    updates: VecDeque<Update>,
    /// (queue, number) → (original arrival, remembered until).
    abandoned: HashMap<(String, String), (Millis, Millis)>,
    /// The same entries by expiry, so forgetting them costs nothing per input.
    abandoned_expiry: VecDeque<(Millis, (String, String))>,
    rng: u64,
    seq: u64,
    next_offer: u64,
    queues_created: u64,
}

impl Engine {
    /// `seed` drives the random strategy and the leg UUIDs; give each process its own.
    pub fn new(seed: u64) -> Engine {
        Engine {
            queues: BTreeMap::new(),
            agents: HashMap::new(),
            callers: HashMap::new(),
            legs: HashMap::new(),
            offers: HashMap::new(),
            timers: Timers::default(),
            actions: VecDeque::new(),
            updates: VecDeque::new(),
            abandoned: HashMap::new(),
            abandoned_expiry: VecDeque::new(),
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            seq: 0,
            next_offer: 1,
            queues_created: 0,
        }
    }

    // ----- outputs -------------------------------------------------------------------------

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_update(&mut self) -> Option<Update> {
        self.updates.pop_front()
    }

    /// When [`Engine::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.next_at()
    }

    // ----- configuration -------------------------------------------------------------------

    /// Adds or replaces a queue. Waiting callers stay; new settings apply from now on.
    pub fn set_queue(&mut self, now: Millis, config: QueueConfig) -> Result<(), AcdError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(AcdError::Invalid(problems));
        }
        let name = config.name.clone();
        match self.queues.get_mut(&name) {
            Some(queue) => queue.config = Arc::new(config),
            None => {
                // Golden-ratio steps spread any number of queues evenly over the second.
                let phase = (self.queues_created * 618) % 1000;
                self.queues_created += 1;
                self.queues.insert(
                    name.clone(),
                    Queue {
                        config: Arc::new(config),
                        order: BTreeMap::new(),
                        members: Vec::new(),
                        rr_next: 0,
                        counters: Counters::default(),
                        rate: AnswerRate::default(),
                        dirty: false,
                        announce_at: None,
                        phase,
                    },
                );
            }
        }
        self.rebuild_members(&name);
        self.dispatch(now, &name);
        Ok(())
    }

    pub fn remove_queue(&mut self, name: &str) -> Result<(), AcdError> {
        let queue = self
            .queues
            .get(name)
            .ok_or_else(|| AcdError::UnknownQueue(name.into()))?;
        if !queue.order.is_empty() {
            return Err(AcdError::QueueBusy(name.into()));
        }
        self.queues.remove(name);
        Ok(())
    }

    /// Adds or replaces an agent (endpoint and memberships). A new agent starts logged out.
    pub fn set_agent(&mut self, now: Millis, config: AgentConfig) -> Result<(), AcdError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(AcdError::Invalid(problems));
        }
        if let Some(m) = config
            .queues
            .iter()
            .find(|m| !self.queues.contains_key(&m.queue))
        {
            return Err(AcdError::UnknownQueue(m.queue.clone()));
        }
        let name = config.name.clone();
        let old_queues: Vec<String> = self
            .agents
            .get(&name)
            .map(|a| a.config.queues.iter().map(|m| m.queue.clone()).collect())
            .unwrap_or_default();
        match self.agents.get_mut(&name) {
            Some(agent) => agent.config = config,
            None => {
                self.agents.insert(
                    name.clone(),
                    Agent {
                        config,
                        status: AgentStatus::LoggedOut,
                        activity: Activity::Idle,
                        since: now,
                        idle_since: now,
                        backoff_until: 0,
                        missed: 0,
                        calls: 0,
                        talk_ms: 0,
                        caller: None,
                    },
                );
            }
        }
        let mut touched = old_queues;
        touched.extend(
            self.agents[&name]
                .config
                .queues
                .iter()
                .map(|m| m.queue.clone()),
        );
        touched.sort();
        touched.dedup();
        for queue in &touched {
            self.rebuild_members(queue);
        }
        self.dispatch_agent(now, &name);
        Ok(())
    }

    /// Restores counters an agent had before a restart (from the store).
    pub fn restore_agent(
        &mut self,
        name: &str,
        status: AgentStatus,
        calls: u64,
        talk_ms: u64,
    ) -> Result<(), AcdError> {
        let agent = self
            .agents
            .get_mut(name)
            .ok_or_else(|| AcdError::UnknownAgent(name.into()))?;
        agent.status = status;
        agent.calls = calls;
        agent.talk_ms = talk_ms;
        Ok(())
    }

    pub fn remove_agent(&mut self, now: Millis, name: &str) -> Result<(), AcdError> {
        self.set_agent_status(now, name, AgentStatus::LoggedOut)?;
        if let Some(agent) = self.agents.remove(name) {
            for m in &agent.config.queues {
                self.rebuild_members(&m.queue);
            }
        }
        Ok(())
    }

    fn rebuild_members(&mut self, queue: &str) {
        let mut members: Vec<(u32, u32, String)> = self
            .agents
            .values()
            .flat_map(|a| {
                a.config
                    .queues
                    .iter()
                    .filter(|m| m.queue == queue)
                    .map(|m| (m.tier, m.position, a.config.name.clone()))
            })
            .collect();
        members.sort();
        if let Some(q) = self.queues.get_mut(queue) {
            q.rr_next = q.rr_next.min(members.len());
            q.members = members;
        }
    }

    // ----- agents --------------------------------------------------------------------------

    /// Log in, take a break, come back, log out. A ringing offer to this agent is withdrawn
    /// unless they become (or stay) available; a call in progress continues.
    pub fn set_agent_status(
        &mut self,
        now: Millis,
        name: &str,
        status: AgentStatus,
    ) -> Result<(), AcdError> {
        let agent = self
            .agents
            .get_mut(name)
            .ok_or_else(|| AcdError::UnknownAgent(name.into()))?;
        if agent.status == status {
            return Ok(());
        }
        agent.status = status.clone();
        agent.since = now;
        if status == AgentStatus::Available {
            agent.missed = 0;
            agent.backoff_until = 0;
        }
        let ringing = agent.activity == Activity::Ringing && status != AgentStatus::Available;
        self.agent_changed(name);
        if ringing {
            self.withdraw_agent_offer(now, name, "ORIGINATOR_CANCEL");
        }
        if status == AgentStatus::Available {
            self.dispatch_agent(now, name);
        } else {
            self.overflow_unstaffed(now, name);
        }
        Ok(())
    }

    /// Callers of queues left with nobody logged in go to overflow when the queue says so.
    fn overflow_unstaffed(&mut self, now: Millis, agent: &str) {
        let queues: Vec<String> = self
            .agents
            .get(agent)
            .map(|a| a.config.queues.iter().map(|m| m.queue.clone()).collect())
            .unwrap_or_default();
        for queue in queues {
            if self
                .queues
                .get(&queue)
                .is_some_and(|q| q.config.no_agents == NoAgents::Overflow)
                && self.logged_in(&queue) == 0
            {
                let waiting: Vec<String> = self.queues[&queue]
                    .order
                    .values()
                    .map(|p| p.id.clone())
                    .collect();
                for id in waiting {
                    if self
                        .callers
                        .get(&id)
                        .is_some_and(|c| matches!(c.state, CallerState::Waiting))
                    {
                        self.overflow(now, &id);
                    }
                }
            }
        }
        self.settle(now);
    }

    /// How many of the queue's agents are in a status `counts` accepts.
    fn members_where(&self, queue: &str, counts: impl Fn(&AgentStatus) -> bool) -> usize {
        self.queues.get(queue).map_or(0, |q| {
            q.members
                .iter()
                .filter(|(_, _, a)| self.agents.get(a).is_some_and(|a| counts(&a.status)))
                .count()
        })
    }

    fn logged_in(&self, queue: &str) -> usize {
        self.members_where(queue, |s| *s != AgentStatus::LoggedOut)
    }

    fn agent_changed(&mut self, name: &str) {
        if let Some(a) = self.agents.get(name) {
            self.updates.push_back(Update::AgentChanged {
                agent: name.to_owned(),
                status: match &a.status {
                    AgentStatus::OnBreak(reason) => format!("on_break:{reason}"),
                    other => other.label().to_owned(),
                },
                activity: a.activity.label().to_owned(),
                since: a.since,
                call: a.caller.clone(),
            });
        }
    }

    fn set_activity(
        &mut self,
        now: Millis,
        name: &str,
        activity: Activity,
        caller: Option<String>,
    ) {
        let Some(agent) = self.agents.get_mut(name) else {
            return;
        };
        if agent.activity == Activity::InCall
            || matches!(agent.activity, Activity::WrapUp { .. })
            || activity == Activity::Idle
        {
            agent.idle_since = now;
        }
        agent.activity = activity;
        agent.caller = caller;
        agent.since = now;
        if let Activity::WrapUp { until } = activity {
            self.timers.push(until, Timer::Agent(name.to_owned()));
        }
        self.agent_changed(name);
    }

    fn penalize(&mut self, now: Millis, name: &str, queue: &str, cause: &str) {
        let Some(config) = self.queues.get(queue).map(|q| q.config.clone()) else {
            return;
        };
        let Some(agent) = self.agents.get_mut(name) else {
            return;
        };
        let (delay, missed) = match cause {
            "USER_BUSY" => (config.busy_delay_secs, false),
            "CALL_REJECTED" | "DECLINE" => (config.reject_delay_secs, true),
            _ => (config.no_answer_delay_secs, true),
        };
        agent.backoff_until = now + delay * 1000;
        if missed {
            agent.missed += 1;
        }
        let pause = config.max_missed_offers > 0
            && agent.missed >= config.max_missed_offers
            && agent.status == AgentStatus::Available;
        self.timers
            .push(now + delay * 1000, Timer::Agent(name.to_owned()));
        if pause {
            let reason = format!("missed {} offers", config.max_missed_offers);
            if let Some(agent) = self.agents.get_mut(name) {
                agent.status = AgentStatus::OnBreak(reason);
                agent.since = now;
            }
            self.agent_changed(name);
            self.overflow_unstaffed(now, name);
        }
    }

    // ----- callers -------------------------------------------------------------------------

    pub fn caller_arrived(&mut self, now: Millis, arrival: CallerArrival) -> Result<(), AcdError> {
        let queue = self
            .queues
            .get(&arrival.queue)
            .ok_or_else(|| AcdError::UnknownQueue(arrival.queue.clone()))?;
        if self.callers.contains_key(&arrival.call) {
            return Err(AcdError::DuplicateCall(arrival.call));
        }
        let config = queue.config.clone();
        let readopted = arrival.enqueued_at.is_some();
        let resumed = if readopted || !dialable(&arrival.number) {
            None
        } else {
            self.abandoned
                .remove(&(arrival.queue.clone(), arrival.number.clone()))
                .filter(|&(_, until)| until >= now)
                .map(|(at, _)| at)
        };
        // A re-adopted caller's arrival comes from a channel variable: never later than now
        // and no earlier than a day ago, so no deadline computed from it wraps or makes every
        // re-adopted caller overflow at once.
        let readopted_at = arrival
            .enqueued_at
            .map(|at| at.clamp(now.saturating_sub(MAX_QUEUE_SECS * 1000), now));
        let enqueued_at = readopted_at.or(resumed).unwrap_or(now);
        self.seq += 1;
        let key = OrderKey {
            priority: Reverse(arrival.priority),
            enqueued_at,
            seq: self.seq,
        };
        let id = arrival.call.clone();
        let caller = Caller {
            id: id.clone(),
            queue: arrival.queue.clone(),
            number: arrival.number.clone(),
            name: arrival.name.clone(),
            key,
            kind: Kind::Live,
            state: CallerState::Waiting,
            announce: AnnounceState::default(),
            call_leg: Some(id.clone()),
            limit_from: enqueued_at,
        };
        let place = Place::of(&caller);
        self.callers.insert(id.clone(), caller);
        if let Some(q) = self.queues.get_mut(&arrival.queue) {
            q.order.insert(key, place);
            // Someone behind the newcomer (a returning caller, a higher priority, a caller
            // re-adopted in their old place) moved back one: they hear it in `settle`.
            q.dirty |= q
                .order
                .last_key_value()
                .is_some_and(|(last, _)| *last != key);
            // A re-adopted caller counts here too: this engine's counters start with it, and
            // answering a caller never offered would make `answered` exceed `offered`.
            q.counters.offered += 1;
        }
        if !arrival.answered {
            self.actions.push_back(Action::Answer { call: id.clone() });
        }
        self.actions.push_back(Action::SetVar {
            call: id.clone(),
            name: "switchdesk_enqueued_at".into(),
            value: enqueued_at.to_string(),
        });
        self.actions.push_back(Action::SetVar {
            call: id.clone(),
            name: "switchdesk_priority".into(),
            value: arrival.priority.to_string(),
        });
        self.joined(&id);
        self.updates.push_back(Update::CountersChanged {
            queue: arrival.queue.clone(),
        });
        if config.max_wait_secs > 0 {
            self.timers.push(
                enqueued_at + config.max_wait_secs * 1000,
                Timer::Caller(id.clone()),
            );
        }
        if config.no_agents == NoAgents::Overflow && self.logged_in(&arrival.queue) == 0 {
            self.overflow(now, &id);
            self.settle(now);
            return Ok(());
        }
        if config.max_wait_secs > 0 && now >= enqueued_at + config.max_wait_secs * 1000 {
            self.overflow(now, &id);
            self.settle(now);
            return Ok(());
        }
        // Ring an agent first: every millisecond before the phone rings is the caller's.
        self.dispatch(now, &arrival.queue);
        if config.announcements.on_entry {
            self.announce(now, &id);
        } else {
            self.actions.push_back(Action::HoldMusic {
                call: id.clone(),
                queue: arrival.queue.clone(),
            });
            self.schedule_periodic(now, &id);
        }
        self.settle(now);
        Ok(())
    }

    /// Any channel hung up: a caller, or a leg this engine started.
    pub fn channel_hung_up(&mut self, now: Millis, uuid: &str, cause: &str) {
        if self.legs.contains_key(uuid) {
            self.leg_failed(now, uuid, cause);
        } else {
            self.caller_hung_up(now, uuid);
        }
    }

    /// The caller's channel hung up (CHANNEL_HANGUP_COMPLETE).
    pub fn caller_hung_up(&mut self, now: Millis, call: &str) {
        if let Some(leg) = self.legs.get(call).cloned() {
            // A callback's customer leg.
            self.leg_ended(now, call, &leg, "NORMAL_CLEARING");
            self.settle(now);
            return;
        }
        let Some(caller) = self.callers.get(call).cloned() else {
            return;
        };
        if let Kind::Callback { .. } = caller.kind {
            // The caller hung up after asking for a callback: the place is kept.
            return;
        }
        match caller.state {
            CallerState::Waiting | CallerState::Offered(_) | CallerState::Bridging { .. } => {
                self.withdraw(now, call, "ORIGINATOR_CANCEL");
                let waited = now.saturating_sub(caller.key.enqueued_at);
                if let Some(q) = self.queues.get_mut(&caller.queue) {
                    q.counters
                        .record_abandon(waited, q.config.service_level_secs);
                    if dialable(&caller.number) && q.config.resume_secs > 0 {
                        let key = (caller.queue.clone(), caller.number.clone());
                        let until = now + q.config.resume_secs * 1000;
                        self.abandoned
                            .insert(key.clone(), (caller.key.enqueued_at, until));
                        self.abandoned_expiry.push_back((until, key));
                    }
                }
                self.depart(call, Departure::Abandoned);
            }
            CallerState::Bridged { agent, since, .. } => self.end_call(now, call, &agent, since),
        }
        self.prune_abandoned(now);
        self.settle(now);
    }

    fn prune_abandoned(&mut self, now: Millis) {
        while let Some((until, _)) = self.abandoned_expiry.front() {
            if *until >= now {
                break;
            }
            if let Some((_, key)) = self.abandoned_expiry.pop_front() {
                if self.abandoned.get(&key).is_some_and(|&(_, u)| u < now) {
                    self.abandoned.remove(&key);
                }
            }
        }
    }

    /// A digit from a waiting caller: the exit key or the callback key.
    pub fn dtmf(&mut self, now: Millis, call: &str, digit: char) {
        let Some(caller) = self.callers.get(call).cloned() else {
            return;
        };
        if caller.kind != Kind::Live
            || !matches!(caller.state, CallerState::Waiting | CallerState::Offered(_))
        {
            return;
        }
        let Some(config) = self.queues.get(&caller.queue).map(|q| q.config.clone()) else {
            return;
        };
        let exit = (config.exit_key == Some(digit))
            .then(|| config.exit_extension.clone())
            .flatten();
        if let Some(extension) = exit {
            self.withdraw(now, call, "ORIGINATOR_CANCEL");
            if let Some(q) = self.queues.get_mut(&config.name) {
                q.counters.exited += 1;
            }
            self.actions.push_back(Action::Transfer {
                call: call.to_owned(),
                extension: extension.clone(),
            });
            self.depart(
                call,
                Departure::Exited {
                    extension: extension.to_string(),
                },
            );
        } else if config.callbacks.key == Some(digit) && dialable(&caller.number) {
            self.withdraw_offer_only(now, call);
            let number = caller.number.clone();
            let enqueued_at = caller.key.enqueued_at;
            if let Some(c) = self.callers.get_mut(call) {
                c.kind = Kind::Callback {
                    attempts: 0,
                    not_before: now,
                };
                c.state = CallerState::Waiting;
                c.call_leg = None;
            }
            if let Some(q) = self.queues.get_mut(&config.name) {
                q.counters.callbacks += 1;
                // The place stays, held by a callback: no more announcements to it.
                if let Some(place) = q.order.get_mut(&caller.key) {
                    place.live = false;
                }
            }
            self.actions.push_back(Action::ConfirmCallback {
                call: call.to_owned(),
                queue: config.name.clone(),
            });
            self.updates.push_back(Update::CallerLeft {
                queue: config.name.clone(),
                id: call.to_owned(),
                departure: Departure::CallbackRequested,
            });
            self.updates.push_back(Update::CallbackQueued {
                queue: config.name.clone(),
                id: call.to_owned(),
                number,
                enqueued_at,
                attempts: 0,
                not_before: now,
            });
            self.updates.push_back(Update::CountersChanged {
                queue: config.name.clone(),
            });
            self.dispatch(now, &config.name);
        }
        self.settle(now);
    }

    /// Re-adopts a callback kept in the store after a restart.
    pub fn restore_callback(
        &mut self,
        queue: &str,
        id: &str,
        number: &str,
        enqueued_at: Millis,
        attempts: u32,
        not_before: Millis,
    ) -> Result<(), AcdError> {
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.into()));
        }
        if self.callers.contains_key(id) {
            return Err(AcdError::DuplicateCall(id.into()));
        }
        self.seq += 1;
        let key = OrderKey {
            priority: Reverse(0),
            enqueued_at,
            seq: self.seq,
        };
        self.callers.insert(
            id.to_owned(),
            Caller {
                id: id.to_owned(),
                queue: queue.to_owned(),
                number: number.to_owned(),
                name: String::new(),
                key,
                kind: Kind::Callback {
                    attempts,
                    not_before,
                },
                state: CallerState::Waiting,
                announce: AnnounceState::default(),
                call_leg: None,
                limit_from: enqueued_at,
            },
        );
        let place = self.callers.get(id).map(Place::of);
        if let (Some(q), Some(place)) = (self.queues.get_mut(queue), place) {
            q.order.insert(key, place);
        }
        self.timers.push(not_before, Timer::Caller(id.to_owned()));
        Ok(())
    }

    // ----- legs the engine started ---------------------------------------------------------

    /// The originate of `leg` succeeded: it answered and is parked (`+OK <uuid>`).
    pub fn leg_answered(&mut self, now: Millis, leg_id: &str) {
        let Some(leg) = self.legs.get(leg_id).cloned() else {
            return;
        };
        let Some(offer) = self.offers.get(&leg.offer).cloned() else {
            return;
        };
        match leg.role {
            LegRole::Agent => {
                let valid = offer.taken.is_none()
                    && self
                        .callers
                        .get(&offer.caller)
                        .is_some_and(|c| c.state == CallerState::Offered(leg.offer));
                if !valid {
                    self.drop_leg(leg_id, "LOSE_RACE");
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    self.dispatch_agent(now, &leg.agent);
                    self.settle(now);
                    return;
                }
                // Ring-all: the others lose the race.
                for other in offer.ringing.iter().filter(|l| *l != leg_id) {
                    if let Some(lost) = self.legs.get(other).cloned() {
                        self.drop_leg(other, "LOSE_RACE");
                        self.set_activity(now, &lost.agent, Activity::Idle, None);
                    }
                }
                if let Some(o) = self.offers.get_mut(&leg.offer) {
                    o.taken = Some(leg_id.to_owned());
                    o.ringing.clear();
                }
                if let Some(agent) = self.agents.get_mut(&leg.agent) {
                    agent.missed = 0;
                }
                self.set_activity(
                    now,
                    &leg.agent,
                    Activity::InCall,
                    Some(offer.caller.clone()),
                );
                let caller = &offer.caller;
                let is_callback = matches!(
                    self.callers.get(caller).map(|c| &c.kind),
                    Some(Kind::Callback { .. })
                );
                if let Some(c) = self.callers.get_mut(caller) {
                    c.state = CallerState::Bridging {
                        agent: leg.agent.clone(),
                        leg: leg_id.to_owned(),
                    };
                }
                self.remove_from_order(caller);
                self.depart_update(
                    caller,
                    Departure::Answered {
                        agent: leg.agent.clone(),
                    },
                );
                if is_callback {
                    self.dial_customer(now, leg.offer, caller);
                } else {
                    self.actions.push_back(Action::Bridge {
                        call: caller.clone(),
                        leg: leg_id.to_owned(),
                    });
                }
            }
            LegRole::Customer => {
                if let Some(l) = self.legs.get_mut(leg_id) {
                    l.answered = true;
                }
                if let Some(agent_leg) = offer.taken.clone() {
                    self.actions.push_back(Action::Bridge {
                        call: leg_id.to_owned(),
                        leg: agent_leg,
                    });
                }
            }
        }
        for other in self.other_queues_of(&leg.agent) {
            self.dispatch(now, &other);
        }
        self.settle(now);
    }

    fn dial_customer(&mut self, now: Millis, offer: u64, caller: &str) {
        let Some(c) = self.callers.get(caller).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        let leg = self.new_uuid();
        let agent = match &c.state {
            CallerState::Bridging { agent, .. } => agent.clone(),
            _ => return,
        };
        self.legs.insert(
            leg.clone(),
            Leg {
                offer,
                agent,
                role: LegRole::Customer,
                answered: false,
            },
        );
        if let Some(c) = self.callers.get_mut(caller) {
            c.call_leg = Some(leg.clone());
        }
        let dial = match config.callbacks.dial.fill(&c.number) {
            Ok(dial) => dial,
            Err(_) => {
                // Only a number too long for the template gets here (`dialable` was checked).
                self.leg_failed(now, &leg, "INVALID_NUMBER_FORMAT");
                return;
            }
        };
        self.actions.push_back(Action::DialCustomer {
            leg: leg.clone(),
            number: c.number.clone(),
            dial,
            queue: c.queue.clone(),
            timeout_secs: config.callbacks.ring_secs,
            caller_id_number: config.callbacks.caller_id_number.clone(),
            caller_id_name: config.callbacks.caller_id_name.clone(),
        });
        self.timers.push(
            now + (config.callbacks.ring_secs + 5) * 1000,
            Timer::Offer(offer),
        );
    }

    /// The originate of `leg` failed (`-ERR <CAUSE>`), or the leg hung up before answering.
    pub fn leg_failed(&mut self, now: Millis, leg_id: &str, cause: &str) {
        let Some(leg) = self.legs.get(leg_id).cloned() else {
            return;
        };
        self.leg_ended(now, leg_id, &leg, cause);
        self.settle(now);
    }

    /// A leg the engine started hung up (CHANNEL_HANGUP_COMPLETE).
    pub fn leg_hung_up(&mut self, now: Millis, leg_id: &str, cause: &str) {
        self.leg_failed(now, leg_id, cause);
    }

    fn leg_ended(&mut self, now: Millis, leg_id: &str, leg: &Leg, cause: &str) {
        self.legs.remove(leg_id);
        let Some(offer) = self.offers.get(&leg.offer).cloned() else {
            return;
        };
        let caller_id = offer.caller.clone();
        let caller = self.callers.get(&caller_id).cloned();
        let queue = caller.as_ref().map(|c| c.queue.clone()).unwrap_or_default();
        match leg.role {
            LegRole::Agent if offer.taken.as_deref() != Some(leg_id) => {
                // Still ringing: busy, no answer, rejected, unreachable.
                if let Some(o) = self.offers.get_mut(&leg.offer) {
                    o.ringing.retain(|l| l != leg_id);
                }
                self.penalize(now, &leg.agent, &queue, cause);
                self.set_activity(now, &leg.agent, Activity::Idle, None);
                self.close_offer_if_unanswered(now, leg.offer);
            }
            LegRole::Agent => match caller.map(|c| c.state) {
                Some(CallerState::Bridged { agent, since, .. }) => {
                    // FreeSWITCH ends the other side of the bridge itself.
                    self.end_call(now, &caller_id, &agent, since);
                }
                Some(CallerState::Bridging { .. }) => {
                    // The agent hung up between answering and the bridge: back in line.
                    self.offers.remove(&leg.offer);
                    self.penalize(now, &leg.agent, &queue, "CALL_REJECTED");
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    if let Some(customer) = self
                        .callers
                        .get(&caller_id)
                        .and_then(|c| c.call_leg.clone())
                        .filter(|l| *l != caller_id)
                    {
                        self.drop_leg(&customer, "NORMAL_CLEARING");
                    }
                    self.requeue(now, &caller_id);
                }
                _ => {
                    self.offers.remove(&leg.offer);
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    self.dispatch_agent(now, &leg.agent);
                }
            },
            LegRole::Customer => match caller.map(|c| c.state) {
                Some(CallerState::Bridged { agent, since, .. }) => {
                    self.end_call(now, &caller_id, &agent, since)
                }
                _ => {
                    // The customer could not be reached: free the agent, try again later.
                    if let Some(agent_leg) = offer.taken.clone() {
                        self.drop_leg(&agent_leg, "NORMAL_CLEARING");
                    }
                    self.offers.remove(&leg.offer);
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    // A barred destination stays barred: trying again later is pointless.
                    let last = cause == BARRED;
                    self.callback_attempt_failed(now, &caller_id, last);
                    self.dispatch_agent(now, &leg.agent);
                }
            },
        }
    }

    fn callback_attempt_failed(&mut self, now: Millis, id: &str, last: bool) {
        let Some(c) = self.callers.get(id).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        let attempts = match c.kind {
            Kind::Callback { attempts, .. } => attempts + 1,
            Kind::Live => return,
        };
        if last || attempts >= config.callbacks.attempts {
            self.callers.remove(id);
            self.updates.push_back(Update::CallbackDone {
                queue: c.queue.clone(),
                id: id.to_owned(),
                reached: false,
            });
            self.updates.push_back(Update::CallerLeft {
                queue: c.queue.clone(),
                id: id.to_owned(),
                departure: Departure::CallbackFailed,
            });
            return;
        }
        let not_before = now + config.callbacks.retry_secs * 1000;
        if let Some(c) = self.callers.get_mut(id) {
            c.kind = Kind::Callback {
                attempts,
                not_before,
            };
            c.state = CallerState::Waiting;
            c.call_leg = None;
        }
        let place = self.callers.get(id).map(Place::of);
        if let (Some(q), Some(place)) = (self.queues.get_mut(&c.queue), place) {
            q.order.insert(c.key, place);
            q.dirty = true;
        }
        self.joined(id);
        self.updates.push_back(Update::CallbackQueued {
            queue: c.queue.clone(),
            id: id.to_owned(),
            number: c.number.clone(),
            enqueued_at: c.key.enqueued_at,
            attempts,
            not_before,
        });
        self.timers.push(not_before, Timer::Caller(id.to_owned()));
    }

    /// FreeSWITCH reported the bridge (CHANNEL_BRIDGE on the caller's leg).
    pub fn bridged(&mut self, now: Millis, call: &str) {
        let id = self.caller_of_call(call);
        let Some(c) = id.as_deref().and_then(|id| self.callers.get(id)).cloned() else {
            return;
        };
        let CallerState::Bridging { agent, leg } = c.state.clone() else {
            return;
        };
        let waited = now.saturating_sub(c.key.enqueued_at);
        if let Some(caller) = self.callers.get_mut(&c.id) {
            caller.state = CallerState::Bridged {
                agent: agent.clone(),
                leg,
                since: now,
            };
        }
        if let Some(q) = self.queues.get_mut(&c.queue) {
            q.counters
                .record_answer(waited, q.config.service_level_secs);
            q.rate.record(now);
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.calls += 1;
        }
        if let Kind::Callback { .. } = c.kind {
            self.updates.push_back(Update::CallbackDone {
                queue: c.queue.clone(),
                id: c.id.clone(),
                reached: true,
            });
        }
        self.updates.push_back(Update::Connected {
            queue: c.queue.clone(),
            call: c.id.clone(),
            agent,
            waited_ms: waited,
        });
        self.updates.push_back(Update::CountersChanged {
            queue: c.queue.clone(),
        });
    }

    /// `uuid_bridge` was refused. `caller_gone` says FreeSWITCH no longer has the caller's
    /// channel (`uuid_exists` false: hung up, perhaps still lingering in CS_REPORTING): the
    /// caller left, and is never offered again. Otherwise the agent leg failed: free it and put
    /// the caller back in line.
    pub fn bridge_failed(&mut self, now: Millis, call: &str, caller_gone: bool) {
        if caller_gone {
            self.channel_hung_up(now, call, "ORIGINATOR_CANCEL");
            return;
        }
        let Some(id) = self.caller_of_call(call) else {
            return;
        };
        let Some(c) = self.callers.get(&id).cloned() else {
            return;
        };
        let CallerState::Bridging { agent, leg } = c.state else {
            return;
        };
        if let Some(l) = self.legs.get(&leg).cloned() {
            self.offers.remove(&l.offer);
        }
        self.drop_leg(&leg, "NORMAL_TEMPORARY_FAILURE");
        self.set_activity(now, &agent, Activity::Idle, None);
        if c.kind == Kind::Live {
            self.requeue(now, &id);
        } else {
            self.callback_attempt_failed(now, &id, false);
        }
        self.settle(now);
    }

    fn caller_of_call(&self, call: &str) -> Option<String> {
        if self.callers.contains_key(call) {
            return Some(call.to_owned());
        }
        let leg = self.legs.get(call)?;
        self.offers.get(&leg.offer).map(|o| o.caller.clone())
    }

    fn requeue(&mut self, now: Millis, id: &str) {
        let Some(c) = self.callers.get_mut(id) else {
            return;
        };
        c.state = CallerState::Waiting;
        let (queue, key, place) = (c.queue.clone(), c.key, Place::of(c));
        if let Some(q) = self.queues.get_mut(&queue) {
            q.order.insert(key, place);
            q.dirty = true;
        }
        self.joined(id);
        self.actions.push_back(Action::HoldMusic {
            call: id.to_owned(),
            queue: queue.clone(),
        });
        self.dispatch(now, &queue);
    }

    /// Tells the dashboard the caller (back) in their queue's order, at their position now.
    fn joined(&mut self, id: &str) {
        let position = self.position(id).unwrap_or(1);
        if let Some(c) = self.callers.get(id) {
            self.updates.push_back(Update::CallerJoined {
                queue: c.queue.clone(),
                id: id.to_owned(),
                number: c.number.clone(),
                name: c.name.clone(),
                priority: c.key.priority.0,
                enqueued_at: c.key.enqueued_at,
                position,
                callback: matches!(c.kind, Kind::Callback { .. }),
            });
        }
    }

    fn end_call(&mut self, now: Millis, id: &str, agent: &str, since: Millis) {
        let Some(c) = self.callers.remove(id) else {
            return;
        };
        let talk = now.saturating_sub(since);
        let wrap_up = self
            .queues
            .get(&c.queue)
            .map_or(0, |q| q.config.wrap_up_secs);
        if let Some(q) = self.queues.get_mut(&c.queue) {
            q.counters.calls_ended += 1;
            q.counters.total_talk_ms += talk;
        }
        if let Some(a) = self.agents.get_mut(agent) {
            a.talk_ms += talk;
        }
        // Forget the legs of this call: the agent's, and a callback's customer leg.
        let legs = [c.call_leg.as_deref(), bridged_leg(&c.state)];
        for leg in legs.into_iter().flatten() {
            if let Some(l) = self.legs.remove(leg) {
                self.offers.remove(&l.offer);
            }
        }
        self.updates.push_back(Update::Ended {
            queue: c.queue.clone(),
            call: id.to_owned(),
            agent: agent.to_owned(),
            talk_ms: talk,
        });
        self.updates.push_back(Update::CountersChanged {
            queue: c.queue.clone(),
        });
        if wrap_up > 0 {
            self.set_activity(
                now,
                agent,
                Activity::WrapUp {
                    until: now + wrap_up * 1000,
                },
                None,
            );
        } else {
            self.set_activity(now, agent, Activity::Idle, None);
            self.dispatch_agent(now, agent);
        }
    }

    // ----- offers --------------------------------------------------------------------------

    fn make_offer(&mut self, now: Millis, caller_id: &str, agents: Vec<String>) {
        let Some(c) = self.callers.get(caller_id).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        let offer = self.next_offer;
        self.next_offer += 1;
        let mut ringing = Vec::with_capacity(agents.len());
        let (caller_number, caller_name) = match c.kind {
            Kind::Live => (c.number.clone(), c.name.clone()),
            Kind::Callback { .. } => (c.number.clone(), format!("Callback {}", c.number)),
        };
        for agent in agents {
            let leg = self.new_uuid();
            let Some(endpoint) = self.agents.get(&agent).map(|a| a.config.endpoint.clone()) else {
                continue;
            };
            self.legs.insert(
                leg.clone(),
                Leg {
                    offer,
                    agent: agent.clone(),
                    role: LegRole::Agent,
                    answered: false,
                },
            );
            self.set_activity(now, &agent, Activity::Ringing, Some(caller_id.to_owned()));
            self.actions.push_back(Action::RingAgent {
                leg: leg.clone(),
                call: caller_id.to_owned(),
                agent: agent.clone(),
                endpoint,
                queue: c.queue.clone(),
                timeout_secs: config.ring_timeout_secs,
                caller_number: caller_number.clone(),
                caller_name: caller_name.clone(),
            });
            ringing.push(leg);
        }
        if let Some(q) = self.queues.get_mut(&c.queue) {
            if let Some(last) = ringing.last().and_then(|l| self.legs.get(l)) {
                if let Some(i) = q.members.iter().position(|(_, _, a)| *a == last.agent) {
                    q.rr_next = i + 1;
                }
            }
        }
        self.offers.insert(
            offer,
            Offer {
                caller: caller_id.to_owned(),
                ringing,
                taken: None,
            },
        );
        if let Some(c) = self.callers.get_mut(caller_id) {
            c.state = CallerState::Offered(offer);
        }
        // FreeSWITCH ends the ring itself (originate_timeout); this is the safety net.
        self.timers.push(
            now + (config.ring_timeout_secs + 5) * 1000,
            Timer::Offer(offer),
        );
    }

    fn close_offer_if_unanswered(&mut self, now: Millis, offer: u64) {
        let Some(o) = self.offers.get(&offer) else {
            return;
        };
        if !o.ringing.is_empty() || o.taken.is_some() {
            return;
        }
        let caller = o.caller.clone();
        self.offers.remove(&offer);
        let queue = match self.callers.get_mut(&caller) {
            Some(c) if c.state == CallerState::Offered(offer) => {
                c.state = CallerState::Waiting;
                c.queue.clone()
            }
            _ => return,
        };
        self.dispatch(now, &queue);
    }

    /// Cancels every leg ringing for this caller and forgets the caller's offer.
    fn withdraw_offer_only(&mut self, now: Millis, id: &str) {
        let Some(CallerState::Offered(offer)) = self.callers.get(id).map(|c| c.state.clone())
        else {
            return;
        };
        if let Some(o) = self.offers.remove(&offer) {
            for leg in o.ringing {
                if let Some(l) = self.legs.get(&leg).cloned() {
                    self.drop_leg(&leg, "ORIGINATOR_CANCEL");
                    self.set_activity(now, &l.agent, Activity::Idle, None);
                    self.dispatch_agent(now, &l.agent);
                }
            }
        }
    }

    /// The caller is leaving: cancel whatever was started for them.
    fn withdraw(&mut self, now: Millis, id: &str, cause: &str) {
        let Some(state) = self.callers.get(id).map(|c| c.state.clone()) else {
            return;
        };
        match state {
            CallerState::Offered(_) => self.withdraw_offer_only(now, id),
            CallerState::Bridging { agent, leg } => {
                if let Some(l) = self.legs.get(&leg).cloned() {
                    self.offers.remove(&l.offer);
                }
                self.drop_leg(&leg, cause);
                self.set_activity(now, &agent, Activity::Idle, None);
                self.dispatch_agent(now, &agent);
            }
            _ => {}
        }
    }

    /// An agent stops being available while their phone rings.
    fn withdraw_agent_offer(&mut self, now: Millis, agent: &str, cause: &str) {
        let legs: Vec<(String, u64)> = self
            .legs
            .iter()
            .filter(|(_, l)| l.agent == agent && l.role == LegRole::Agent)
            .map(|(id, l)| (id.clone(), l.offer))
            .collect();
        for (leg, offer) in legs {
            if self.offers.get(&offer).is_some_and(|o| o.taken.is_none()) {
                self.drop_leg(&leg, cause);
                if let Some(o) = self.offers.get_mut(&offer) {
                    o.ringing.retain(|l| *l != leg);
                }
                self.set_activity(now, agent, Activity::Idle, None);
                self.close_offer_if_unanswered(now, offer);
            }
        }
        self.settle(now);
    }

    fn drop_leg(&mut self, leg: &str, cause: &str) {
        self.legs.remove(leg);
        self.actions.push_back(Action::CancelLeg {
            leg: leg.to_owned(),
            cause: cause.to_owned(),
        });
    }

    // ----- leaving the line ----------------------------------------------------------------

    fn remove_from_order(&mut self, id: &str) {
        let Some(c) = self.callers.get(id) else {
            return;
        };
        let (queue, key) = (c.queue.clone(), c.key);
        if let Some(q) = self.queues.get_mut(&queue) {
            if q.order.remove(&key).is_some() {
                q.dirty = true;
            }
        }
    }

    fn depart_update(&mut self, id: &str, departure: Departure) {
        if let Some(c) = self.callers.get(id) {
            self.updates.push_back(Update::CallerLeft {
                queue: c.queue.clone(),
                id: id.to_owned(),
                departure,
            });
            self.updates.push_back(Update::CountersChanged {
                queue: c.queue.clone(),
            });
        }
    }

    /// Removes a caller for good, with the reason.
    fn depart(&mut self, id: &str, departure: Departure) {
        self.remove_from_order(id);
        self.depart_update(id, departure);
        self.callers.remove(id);
    }

    fn overflow(&mut self, now: Millis, id: &str) {
        let Some(c) = self.callers.get(id).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        self.withdraw(now, id, "ORIGINATOR_CANCEL");
        if let Some(q) = self.queues.get_mut(&c.queue) {
            q.counters.overflowed += 1;
        }
        match &config.overflow {
            Overflow::Queue(target) if self.queues.contains_key(target) && c.kind == Kind::Live => {
                let to = format!("queue:{target}");
                self.rehome(now, id, target, Departure::Overflowed { to });
            }
            Overflow::Extension(extension) if c.kind == Kind::Live => {
                self.actions.push_back(Action::Transfer {
                    call: id.to_owned(),
                    extension: extension.clone(),
                });
                self.depart(
                    id,
                    Departure::Overflowed {
                        to: extension.to_string(),
                    },
                );
            }
            _ => {
                if c.kind == Kind::Live {
                    self.actions.push_back(Action::Hangup {
                        call: id.to_owned(),
                        cause: "NORMAL_CLEARING".into(),
                    });
                }
                self.depart(
                    id,
                    Departure::Overflowed {
                        to: "hangup".into(),
                    },
                );
            }
        }
    }

    /// Sends a live caller from their queue to `target`, keeping their arrival time and
    /// priority: the place there follows that queue's order as if they had arrived there
    /// at their original time. The target's `max_wait_secs` counts from now. The caller's
    /// channel learns the new queue, so a restarted service re-adopts them there.
    fn rehome(&mut self, now: Millis, id: &str, target: &str, departure: Departure) {
        let Some(c) = self.callers.get(id).cloned() else {
            return;
        };
        self.remove_from_order(id);
        self.depart_update(id, departure);
        self.seq += 1;
        let key = OrderKey {
            seq: self.seq,
            ..c.key
        };
        if let Some(caller) = self.callers.get_mut(id) {
            caller.queue = target.to_owned();
            caller.key = key;
            caller.state = CallerState::Waiting;
            caller.announce = AnnounceState::default();
            caller.limit_from = now;
        }
        let target_max_wait = self
            .queues
            .get(target)
            .map_or(0, |t| t.config.max_wait_secs);
        let place = self.callers.get(id).map(Place::of);
        if let (Some(t), Some(place)) = (self.queues.get_mut(target), place) {
            t.order.insert(key, place);
            t.counters.offered += 1;
            t.dirty = true;
        }
        self.actions.push_back(Action::SetVar {
            call: id.to_owned(),
            name: "switchdesk_queue".into(),
            value: target.to_owned(),
        });
        self.joined(id);
        self.updates.push_back(Update::CountersChanged {
            queue: target.to_owned(),
        });
        if target_max_wait > 0 {
            self.timers
                .push(now + target_max_wait * 1000, Timer::Caller(id.to_owned()));
        }
        self.announce(now, id);
        self.dispatch(now, target);
    }

    // ----- supervisors ---------------------------------------------------------------------

    /// The live caller `call`, still in a queue's waiting order, or why not.
    fn waiting_caller(&self, call: &str) -> Result<&Caller, AcdError> {
        let c = self
            .callers
            .get(call)
            .ok_or_else(|| AcdError::UnknownCall(call.into()))?;
        if c.kind != Kind::Live
            || !matches!(c.state, CallerState::Waiting | CallerState::Offered(_))
        {
            return Err(AcdError::NotWaiting(call.into()));
        }
        Ok(c)
    }

    /// A supervisor moves a waiting caller to another queue. A ring in progress for them is
    /// cancelled; they keep their arrival time (so their waiting time, and their place among
    /// the new queue's callers of the same priority) and their priority. Moving a caller to
    /// the queue they wait in changes nothing.
    pub fn move_caller(&mut self, now: Millis, call: &str, queue: &str) -> Result<(), AcdError> {
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.into()));
        }
        let from = self.waiting_caller(call)?.queue.clone();
        if from == queue {
            return Ok(());
        }
        self.withdraw(now, call, "ORIGINATOR_CANCEL");
        if let Some(q) = self.queues.get_mut(&from) {
            q.counters.moved += 1;
        }
        self.rehome(now, call, queue, Departure::Moved { to: queue.into() });
        // The old queue may now have a free agent (the one whose ring was cancelled).
        self.dispatch(now, &from);
        self.settle(now);
        Ok(())
    }

    /// A supervisor puts a waiting caller first in their queue: their priority becomes one
    /// above the highest now waiting there (kept on the channel, like any priority), their
    /// arrival time stays. A caller already first stays as they are.
    pub fn to_front(&mut self, now: Millis, call: &str) -> Result<(), AcdError> {
        let c = self.waiting_caller(call)?;
        let (queue, old_key) = (c.queue.clone(), c.key);
        let Some(q) = self.queues.get(&queue) else {
            return Err(AcdError::UnknownQueue(queue));
        };
        let Some(head) = q.order.keys().next().copied() else {
            return Err(AcdError::NotWaiting(call.into()));
        };
        if head == old_key {
            return Ok(());
        }
        let priority = head.priority.0.checked_add(1).ok_or_else(|| {
            AcdError::Invalid(vec![format!(
                "the first caller in {queue:?} already has the highest priority"
            )])
        })?;
        self.remove_from_order(call);
        let key = OrderKey {
            priority: Reverse(priority),
            ..old_key
        };
        let place = self.callers.get_mut(call).map(|c| {
            c.key = key;
            Place::of(c)
        });
        if let (Some(q), Some(place)) = (self.queues.get_mut(&queue), place) {
            q.order.insert(key, place);
            q.dirty = true;
        }
        self.actions.push_back(Action::SetVar {
            call: call.to_owned(),
            name: "switchdesk_priority".into(),
            value: priority.to_string(),
        });
        self.updates.push_back(Update::MovedToFront {
            queue: queue.clone(),
            id: call.to_owned(),
            priority,
        });
        // A free agent who was waiting for a tier to open, say, takes them now.
        self.dispatch(now, &queue);
        self.settle(now);
        Ok(())
    }

    /// The agent's call, as (the caller's call id, the agent leg), for listening in.
    pub fn agent_leg(&self, agent: &str) -> Result<(String, String), AcdError> {
        let a = self
            .agents
            .get(agent)
            .ok_or_else(|| AcdError::UnknownAgent(agent.into()))?;
        a.caller
            .as_deref()
            .and_then(|id| self.callers.get(id))
            .and_then(|c| match &c.state {
                CallerState::Bridged {
                    agent: who, leg, ..
                } if who == agent => Some((c.id.clone(), leg.clone())),
                _ => None,
            })
            .ok_or_else(|| AcdError::NotInCall(agent.into()))
    }

    // ----- announcements -------------------------------------------------------------------

    /// 1-based place in the queue's waiting order.
    fn position(&self, id: &str) -> Option<u32> {
        let c = self.callers.get(id)?;
        let q = self.queues.get(&c.queue)?;
        q.order
            .contains_key(&c.key)
            .then(|| q.order.range(..c.key).count() as u32 + 1)
    }

    fn announce(&mut self, now: Millis, id: &str) {
        let Some(position) = self.position(id) else {
            return;
        };
        self.announce_at(now, id, position);
    }

    /// Says `position` (known to be true now) to the caller.
    fn announce_at(&mut self, now: Millis, id: &str, position: u32) {
        let Some(c) = self.callers.get(id) else {
            return;
        };
        if c.kind != Kind::Live
            || !matches!(c.state, CallerState::Waiting | CallerState::Offered(_))
        {
            // Never into a call that is being bridged.
            return;
        }
        let queue = c.queue.clone();
        let Some(q) = self.queues.get(&queue) else {
            return;
        };
        let wait_minutes = if q.config.announcements.expected_wait {
            expected_wait_minutes(position, now, &q.rate, &q.counters, || self.on_duty(&queue))
        } else {
            None
        };
        self.actions.push_back(Action::Announce {
            call: id.to_owned(),
            queue: queue.clone(),
            position,
            wait_minutes,
        });
        self.updates.push_back(Update::Announced {
            queue: queue.clone(),
            call: id.to_owned(),
            position,
            wait_minutes,
            at: now,
        });
        let mut key = None;
        if let Some(c) = self.callers.get_mut(id) {
            c.announce.last_at = Some(now);
            c.announce.last_position = Some(position);
            key = Some(c.key);
        }
        let place = key.and_then(|key| self.queues.get_mut(&queue)?.order.get_mut(&key));
        if let Some(place) = place {
            place.last_at = Some(now);
            place.last_position = Some(position);
        }
        self.schedule_periodic(now, id);
    }

    fn schedule_periodic(&mut self, now: Millis, id: &str) {
        let Some(c) = self.callers.get(id) else {
            return;
        };
        let periodic = self
            .queues
            .get(&c.queue)
            .map_or(0, |q| q.config.announcements.periodic_secs);
        if periodic > 0 {
            // Up to 2 s later per caller, so callers told together are not all told again in
            // the same millisecond.
            let spread = (c.key.seq % 16) * 125;
            self.timers
                .push(now + periodic * 1000 + spread, Timer::Caller(id.to_owned()));
        }
    }

    fn on_duty(&self, queue: &str) -> usize {
        self.members_where(queue, |s| *s == AgentStatus::Available)
    }

    /// After every input: tell callers whose position changed, when the queue allows it now,
    /// or later.
    fn settle(&mut self, now: Millis) {
        let dirty: Vec<String> = self
            .queues
            .iter()
            .filter(|(_, q)| q.dirty)
            .map(|(n, _)| n.clone())
            .collect();
        for name in dirty {
            let Some(q) = self.queues.get_mut(&name) else {
                continue;
            };
            q.dirty = false;
            let policy = q.config.announcements.clone();
            let phase = q.phase;
            if !policy.on_change {
                continue;
            }
            // One pass finds who moved (up, or back behind a returning or raised caller);
            // positions come from that pass, not a recount each.
            let mut due = Vec::new();
            let mut next: Option<Millis> = None;
            // Everyone in the order is waiting or being offered (a bridging caller has left it).
            for (index, place) in q.order.values().enumerate() {
                let position = index as u32 + 1;
                if !place.live || place.last_position.is_none_or(|last| position == last) {
                    continue;
                }
                let earliest = place
                    .last_at
                    .map_or(now, |t| t + policy.min_gap_secs * 1000);
                if earliest <= now {
                    due.push((place.id.clone(), position));
                } else {
                    next = Some(next.map_or(earliest, |n: Millis| n.min(earliest)));
                }
            }
            // A burst is spread out: the switch gets a few announcements at a time, and the
            // rest follow a moment later with their positions counted again then.
            if due.len() > ANNOUNCE_BURST {
                next = Some(now + ANNOUNCE_SPREAD_MS);
            }
            for (id, position) in due.into_iter().take(ANNOUNCE_BURST) {
                self.announce_at(now, &id, position);
            }
            // Whole seconds: everyone due within the same second is told in one pass.
            if let Some(at) = next.map(|at| {
                if at == now + ANNOUNCE_SPREAD_MS {
                    at
                } else {
                    // Each queue has its own phase within the second, so a hundred queues
                    // do not all announce in the same millisecond.
                    (at.saturating_sub(phase)).div_ceil(1000) * 1000 + phase
                }
            }) {
                let armed = self.queues.get(&name).and_then(|q| q.announce_at);
                if armed.is_none_or(|armed| at < armed || armed <= now) {
                    if let Some(q) = self.queues.get_mut(&name) {
                        q.announce_at = Some(at);
                    }
                    self.timers.push(at, Timer::Announce(name.clone()));
                }
            }
        }
    }

    // ----- dispatch ------------------------------------------------------------------------

    fn other_queues_of(&self, agent: &str) -> Vec<String> {
        self.agents
            .get(agent)
            .map(|a| a.config.queues.iter().map(|m| m.queue.clone()).collect())
            .unwrap_or_default()
    }

    /// An agent became free: offer them the most urgent head of their queues first.
    fn dispatch_agent(&mut self, now: Millis, agent: &str) {
        let mut queues: Vec<(OrderKey, String)> = self
            .other_queues_of(agent)
            .into_iter()
            .filter_map(|q| {
                let head = self
                    .queues
                    .get(&q)?
                    .order
                    .iter()
                    .find(|(_, place)| {
                        self.callers
                            .get(&place.id)
                            .is_some_and(|c| self.offerable(c, now))
                    })
                    .map(|(k, _)| *k)?;
                Some((head, q))
            })
            .collect();
        queues.sort();
        for (_, queue) in queues {
            self.dispatch(now, &queue);
        }
    }

    fn offerable(&self, c: &Caller, now: Millis) -> bool {
        c.state == CallerState::Waiting
            && match c.kind {
                Kind::Live => true,
                Kind::Callback { not_before, .. } => not_before <= now,
            }
    }

    fn free(&self, agent: &Agent, now: Millis) -> bool {
        agent.status == AgentStatus::Available
            && agent.activity == Activity::Idle
            && agent.backoff_until <= now
    }

    /// Pairs waiting callers with free agents while both last.
    fn dispatch(&mut self, now: Millis, queue: &str) {
        loop {
            let Some(q) = self.queues.get(queue) else {
                return;
            };
            let Some((head_key, head)) = q
                .order
                .iter()
                .find(|(_, place)| {
                    self.callers
                        .get(&place.id)
                        .is_some_and(|c| self.offerable(c, now))
                })
                .map(|(k, place)| (*k, place.id.clone()))
            else {
                return;
            };
            let waited = now.saturating_sub(head_key.enqueued_at);
            let tier_wait = q.config.tier_wait_secs * 1000;
            let mut eligible = Vec::new();
            let mut next_tier_opens: Option<Millis> = None;
            for (tier, _, name) in &q.members {
                let Some(agent) = self.agents.get(name) else {
                    continue;
                };
                if !self.free(agent, now) {
                    continue;
                }
                let opens_after = u64::from(tier.saturating_sub(1)) * tier_wait;
                if opens_after <= waited {
                    eligible.push(name.clone());
                } else {
                    let at = head_key.enqueued_at + opens_after;
                    next_tier_opens = Some(next_tier_opens.map_or(at, |t: Millis| t.min(at)));
                }
            }
            if eligible.is_empty() {
                if let Some(at) = next_tier_opens {
                    self.timers.push(at, Timer::Queue(queue.to_owned()));
                }
                return;
            }
            let chosen = self.choose(queue, eligible);
            self.make_offer(now, &head, chosen);
        }
    }

    fn choose(&mut self, queue: &str, eligible: Vec<String>) -> Vec<String> {
        let Some(q) = self.queues.get(queue) else {
            return Vec::new();
        };
        let strategy = q.config.strategy;
        let agent = |name: &String| self.agents.get(name);
        let pick = match strategy {
            Strategy::RingAll => return eligible,
            // `members` order is (tier, position, name), and `eligible` keeps it.
            Strategy::Linear => eligible.first().cloned(),
            Strategy::LongestIdle => eligible
                .iter()
                .min_by_key(|n| agent(n).map_or(u64::MAX, |a| a.idle_since))
                .cloned(),
            Strategy::FewestCalls => eligible
                .iter()
                .min_by_key(|n| agent(n).map_or(u64::MAX, |a| a.calls))
                .cloned(),
            Strategy::LeastTalkTime => eligible
                .iter()
                .min_by_key(|n| agent(n).map_or(u64::MAX, |a| a.talk_ms))
                .cloned(),
            Strategy::RoundRobin => {
                let start = q.rr_next;
                let order: Vec<&String> = q.members.iter().map(|(_, _, a)| a).collect();
                (0..order.len())
                    .map(|i| order[(start + i) % order.len()])
                    .find(|a| eligible.contains(a))
                    .cloned()
            }
            Strategy::Random => {
                let n = eligible.len() as u64;
                let i = self.next_random() % n;
                eligible.get(i as usize).cloned()
            }
        };
        pick.into_iter().collect()
    }

    // ----- timers --------------------------------------------------------------------------

    /// Fires every timer due at `now`.
    pub fn tick(&mut self, now: Millis) {
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Offer(offer) => self.offer_timed_out(now, offer),
                Timer::Agent(name) => self.agent_timer(now, &name),
                Timer::Caller(id) => self.caller_timer(now, &id),
                Timer::Queue(queue) => self.dispatch(now, &queue),
                Timer::Announce(queue) => {
                    if let Some(q) = self.queues.get_mut(&queue) {
                        if q.announce_at.is_some_and(|at| at <= now) {
                            q.announce_at = None;
                        }
                        q.dirty = true;
                    }
                }
            }
        }
        self.settle(now);
    }

    fn offer_timed_out(&mut self, now: Millis, offer: u64) {
        let Some(o) = self.offers.get(&offer).cloned() else {
            return;
        };
        if o.taken.is_none() {
            for leg in o.ringing {
                if let Some(l) = self.legs.get(&leg).cloned() {
                    self.drop_leg(&leg, "ALLOTTED_TIMEOUT");
                    self.legs.insert(leg.clone(), l.clone());
                    self.leg_ended(now, &leg, &l, "NO_ANSWER");
                }
            }
        } else if let Some(customer) = self.callers.get(&o.caller).and_then(|c| c.call_leg.clone())
        {
            // A callback whose customer leg never reported back.
            if let Some(l) = self
                .legs
                .get(&customer)
                .cloned()
                .filter(|l| l.role == LegRole::Customer)
            {
                if matches!(
                    self.callers.get(&o.caller).map(|c| &c.state),
                    Some(CallerState::Bridging { .. })
                ) {
                    self.drop_leg(&customer, "ALLOTTED_TIMEOUT");
                    self.leg_ended(now, &customer, &l, "NO_ANSWER");
                }
            }
        }
    }

    fn agent_timer(&mut self, now: Millis, name: &str) {
        let Some(agent) = self.agents.get(name) else {
            return;
        };
        if let Activity::WrapUp { until } = agent.activity {
            if until <= now {
                self.set_activity(now, name, Activity::Idle, None);
            }
        }
        self.dispatch_agent(now, name);
    }

    fn caller_timer(&mut self, now: Millis, id: &str) {
        // Fires often (every periodic announcement): read what is needed, clone nothing big.
        let Some(c) = self.callers.get(id) else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| &q.config) else {
            return;
        };
        let waiting = matches!(c.state, CallerState::Waiting | CallerState::Offered(_));
        let max_wait = config.max_wait_secs * 1000;
        if c.kind == Kind::Live && max_wait > 0 && waiting && now >= c.limit_from + max_wait {
            self.overflow(now, id);
            return;
        }
        if let Kind::Callback { not_before, .. } = c.kind {
            if not_before <= now {
                let queue = c.queue.clone();
                self.dispatch(now, &queue);
            }
            return;
        }
        let policy = &config.announcements;
        let due_periodic = policy.periodic_secs > 0
            && c.announce
                .last_at
                .is_some_and(|t| t + policy.periodic_secs * 1000 <= now);
        let gap_passed = policy.on_change
            && c.announce
                .last_at
                .is_some_and(|t| t + policy.min_gap_secs * 1000 <= now);
        let last_position = c.announce.last_position;
        let moved_up = gap_passed
            && self
                .position(id)
                .zip(last_position)
                .is_some_and(|(p, last)| p < last);
        if due_periodic || moved_up {
            self.announce(now, id);
        }
    }

    // ----- reading -------------------------------------------------------------------------

    /// Every queue with its waiting callers, agents and counters.
    pub fn queues(&self, now: Millis) -> Vec<QueueView> {
        self.queues
            .keys()
            .filter_map(|name| self.queue(now, name))
            .collect()
    }

    pub fn queue(&self, now: Millis, name: &str) -> Option<QueueView> {
        let q = self.queues.get(name)?;
        let waiting: Vec<WaitingView> = q
            .order
            .values()
            .enumerate()
            .filter_map(|(i, place)| {
                let c = self.callers.get(&place.id)?;
                Some(WaitingView {
                    call: place.id.clone(),
                    number: c.number.clone(),
                    name: c.name.clone(),
                    position: i as u32 + 1,
                    waited_secs: now.saturating_sub(c.key.enqueued_at) / 1000,
                    priority: c.key.priority.0,
                    enqueued_at: c.key.enqueued_at,
                    callback: matches!(c.kind, Kind::Callback { .. }),
                    offered: matches!(c.state, CallerState::Offered(_)),
                })
            })
            .collect();
        let agents = q
            .members
            .iter()
            .filter_map(|(tier, position, name)| {
                let a = self.agents.get(name)?;
                Some(a.view(name, *tier, *position))
            })
            .collect();
        let longest_wait_secs = waiting
            .iter()
            .filter(|w| !w.callback)
            .map(|w| w.waited_secs)
            .max()
            .unwrap_or(0);
        let callbacks_pending = waiting.iter().filter(|w| w.callback).count() as u64;
        Some(QueueView::new(
            &q.config,
            waiting,
            agents,
            &q.counters,
            longest_wait_secs,
            callbacks_pending,
        ))
    }

    pub fn agent(&self, name: &str) -> Option<AgentView> {
        Some(self.agents.get(name)?.view(name, 0, 0))
    }

    /// An agent's settings, as last set.
    pub fn agent_config(&self, name: &str) -> Option<&AgentConfig> {
        self.agents.get(name).map(|a| &a.config)
    }

    pub fn queue_config(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.get(name).map(|q| q.config.as_ref())
    }

    /// Calls and legs the engine tracks, for reconciling with the switch after a reconnect.
    pub fn tracked_calls(&self) -> Vec<String> {
        self.callers
            .values()
            .filter(|c| c.kind == Kind::Live)
            .map(|c| c.id.clone())
            .collect()
    }

    pub fn tracked_legs(&self) -> Vec<String> {
        self.legs.keys().cloned().collect()
    }

    /// Whether `leg` is one this engine started and has not yet seen answered.
    pub fn is_ringing_leg(&self, leg: &str) -> bool {
        self.legs
            .get(leg)
            .and_then(|l| self.offers.get(&l.offer))
            .is_some_and(|o| o.ringing.iter().any(|r| r == leg))
    }

    /// Whether `leg` is one this engine started and waits to hear answered: an agent's leg
    /// still ringing, or a callback's customer leg not yet answered. The switch tells of an
    /// answer twice (the leg parks, the originate's job ends); only the first one counts.
    pub fn awaits_answer(&self, leg: &str) -> bool {
        match self.legs.get(leg) {
            Some(l) if l.role == LegRole::Customer => !l.answered,
            Some(_) => self.is_ringing_leg(leg),
            None => false,
        }
    }

    /// A live caller in a queue's waiting order (waiting, or being offered), not a callback
    /// and not yet being connected.
    pub fn is_waiting(&self, call: &str) -> bool {
        self.waiting_caller(call).is_ok()
    }

    pub fn is_tracked(&self, id: &str) -> bool {
        self.callers.contains_key(id) || self.legs.contains_key(id)
    }

    /// Re-adopts a call that was already bridged to an agent when the service restarted.
    pub fn adopt_bridged(
        &mut self,
        now: Millis,
        call: &str,
        queue: &str,
        agent: &str,
        leg: &str,
        since: Millis,
    ) -> Result<(), AcdError> {
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.into()));
        }
        if !self.agents.contains_key(agent) {
            return Err(AcdError::UnknownAgent(agent.into()));
        }
        if self.callers.contains_key(call) {
            return Err(AcdError::DuplicateCall(call.into()));
        }
        self.seq += 1;
        let offer = self.next_offer;
        self.next_offer += 1;
        self.callers.insert(
            call.to_owned(),
            Caller {
                id: call.to_owned(),
                queue: queue.to_owned(),
                number: String::new(),
                name: String::new(),
                key: OrderKey {
                    priority: Reverse(0),
                    enqueued_at: since,
                    seq: self.seq,
                },
                kind: Kind::Live,
                state: CallerState::Bridged {
                    agent: agent.to_owned(),
                    leg: leg.to_owned(),
                    since,
                },
                announce: AnnounceState::default(),
                call_leg: Some(call.to_owned()),
                limit_from: since,
            },
        );
        self.legs.insert(
            leg.to_owned(),
            Leg {
                offer,
                agent: agent.to_owned(),
                role: LegRole::Agent,
                answered: false,
            },
        );
        self.offers.insert(
            offer,
            Offer {
                caller: call.to_owned(),
                ringing: Vec::new(),
                taken: Some(leg.to_owned()),
            },
        );
        self.set_activity(now, agent, Activity::InCall, Some(call.to_owned()));
        Ok(())
    }

    // ----- randomness ----------------------------------------------------------------------

    /// splitmix64: deterministic for a seed, no global state.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn new_uuid(&mut self) -> String {
        let (a, b) = (self.next_random(), self.next_random());
        let bytes: Vec<u8> = a.to_be_bytes().into_iter().chain(b.to_be_bytes()).collect();
        let hex: String = bytes
            .iter()
            .enumerate()
            .map(|(i, byte)| match i {
                6 => format!("{:02x}", 0x40 | (byte & 0x0f)),
                8 => format!("{:02x}", 0x80 | (byte & 0x3f)),
                _ => format!("{byte:02x}"),
            })
            .collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// A stable offset in [0, 1000) ms derived from the queue's name.
fn bridged_leg(state: &CallerState) -> Option<&str> {
    match state {
        CallerState::Bridged { leg, .. } | CallerState::Bridging { leg, .. } => Some(leg),
        _ => None,
    }
}

/// A number that can be called back and recognised when it calls again.
fn dialable(number: &str) -> bool {
    let digits = number.trim_start_matches('+');
    digits.len() >= 3 && digits.chars().all(|c| c.is_ascii_digit())
}
