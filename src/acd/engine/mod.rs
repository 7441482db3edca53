//! The queue engine: a state machine with no IO and no clock. Every input carries `now`;
//! outputs are drained with [`Engine::poll_action`] and [`Engine::poll_update`]; timers are
//! asked for with [`Engine::next_deadline`] and fired by [`Engine::tick`].
//!
//! This file owns the [`Engine`] itself: the state the rooms share (queues, agents, callers,
//! legs, offers, timers, the outputs waiting to be drained), the queues' settings, the drain
//! points and the seeded randomness. Each concern is a room of its own, one `impl Engine` each:
//!
//! - `order`: the waiting order, positions, back in line, leaving it, a supervisor's move.
//! - `callers`: what a caller's channel does: arrives, presses a key, hangs up.
//! - `agents`: agents' settings, status, activity, back-offs and queue memberships.
//! - `dispatch`: who is offered to whom: the head of the line, tiers and strategies.
//! - `offers`: ringing agents: the offer, its legs answered, failed or ended, or withdrawn.
//! - `calls`: the connected call: bridged, bridge refused, ended, re-adopted after a restart.
//! - `announce`: position announcements (on entry, on change, periodic) and their pacing.
//! - `callbacks`: a callback keeping the place, dialling the customer, attempts.
//! - `overflow`: leaving for another queue, an extension or a hangup.
//! - `timers`: the timer heap and what each timer does when it fires.
//! - `counting`: every change of the counters, told as a delta; the day's start.
//! - `views`: read-only views and the questions the switch adapter asks.
//!
//! Kept across the rooms: a caller is in their queue's `order` exactly while `Waiting` or
//! `Offered` (live or a callback); an input that moves callers in an order marks the queue
//! `dirty` and ends with `settle`, which tells those whose position changed (restoring a
//! callback at start-up does neither); nothing here does IO or reads the clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use super::config::{AgentConfig, Overflow, QueueConfig};
use super::output::{Action, Update};
use super::stats::{AnswerRate, Counters};
use crate::clock::{self, Millis};

mod agents;
mod announce;
mod callbacks;
mod callers;
mod calls;
mod counting;
mod dispatch;
mod offers;
mod order;
mod overflow;
mod timers;
mod views;

pub use callbacks::LineCallback;

use order::{OrderKey, Place};
use timers::{Timer, Timers};

fn in_use(members: &[String], overflowing: &[String]) -> String {
    let mut parts = Vec::new();
    if !members.is_empty() {
        parts.push(format!("agents {} are members", members.join(", ")));
    }
    if !overflowing.is_empty() {
        parts.push(format!("queues {} overflow to it", overflowing.join(", ")));
    }
    parts.join("; ")
}

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
    /// Agents are members of the queue, or other queues overflow to it: deleting it would
    /// drop them silently.
    #[error("queue {queue:?} is still in use: {}", in_use(members, overflowing))]
    QueueInUse {
        queue: String,
        members: Vec<String>,
        overflowing: Vec<String>,
    },
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
    /// From the caller leg's `switchdesk_enqueued_at` when re-adopting (keeps the place), or
    /// the channel's creation for a caller who came while no service ran.
    pub enqueued_at: Option<Millis>,
    /// Already counted as offered, by the run that first queued the caller (the channel carries
    /// `switchdesk_enqueued_at`). A caller who came while no service ran is counted now.
    pub counted: bool,
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

/// The hangup cause of a leg that was never placed because its destination is blocked.
pub const BARRED: &str = "OUTGOING_CALL_BARRED";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    Idle,
    Ringing,
    InCall,
    WrapUp { until: Millis },
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
    /// The first expected wait announced in this queue: when, and how long (ms).
    promise: Option<(Millis, u64)>,
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

/// Whom a leg the engine started rings: an agent (for a caller or a callback), or the
/// customer of a callback. Not a CDR's `cdr::LegRole`, which also names callers' legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Callee {
    Agent,
    Customer,
}

#[derive(Clone, Debug)]
struct Leg {
    offer: u64,
    agent: String,
    callee: Callee,
    /// Seen answered (a customer leg stays a leg of the offer after that).
    answered: bool,
}

#[derive(Clone, Debug)]
struct Offer {
    caller: String,
    ringing: Vec<String>,
    taken: Option<String>,
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
    /// Abandons after a shorter wait are short abandons.
    short_abandon_ms: u64,
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
            short_abandon_ms: 0,
        }
    }

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
                let phase = clock::ms((self.queues_created * 618) % 1000);
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

    /// Removes a queue no caller waits in, no agent is a member of and no queue overflows to.
    pub fn remove_queue(&mut self, name: &str) -> Result<(), AcdError> {
        let queue = self
            .queues
            .get(name)
            .ok_or_else(|| AcdError::UnknownQueue(name.into()))?;
        if !queue.order.is_empty() {
            return Err(AcdError::QueueBusy(name.into()));
        }
        let mut members: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.config.queues.iter().any(|m| m.queue == name))
            .map(|(agent, _)| agent.clone())
            .collect();
        let mut overflowing: Vec<String> = self
            .queues
            .iter()
            .filter(|(other, q)| {
                other.as_str() != name
                    && matches!(&q.config.overflow, Overflow::Queue(target) if target == name)
            })
            .map(|(other, _)| other.clone())
            .collect();
        if !members.is_empty() || !overflowing.is_empty() {
            members.sort();
            overflowing.sort();
            return Err(AcdError::QueueInUse {
                queue: name.into(),
                members,
                overflowing,
            });
        }
        self.queues.remove(name);
        Ok(())
    }

    /// What is wrong between `config` and the other queues: an overflow to a queue that does
    /// not exist, or to itself. (Loading stored queues does not ask: their order is arbitrary.)
    pub fn queue_reference_problems(&self, config: &QueueConfig) -> Vec<String> {
        match &config.overflow {
            Overflow::Queue(target) if target == &config.name => {
                vec![format!("queue {}: overflows to itself", config.name)]
            }
            Overflow::Queue(target) if !self.queues.contains_key(target) => vec![format!(
                "queue {}: overflow queue {target:?} does not exist",
                config.name
            )],
            _ => Vec::new(),
        }
    }

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
