//! The call-queue engine (ACD): queues, waiting callers, agents, strategies, tiers, position
//! announcements, expected wait, wrap-up, callbacks, overflow and SLA counters.
//!
//! It is a pure state machine in the sans-IO style: it never does IO, never reads the clock and
//! never spawns. Inputs are method calls that carry `now` ([`crate::clock::Millis`], the type
//! and span conversions being all it takes of `clock`); outputs are drained: [`Action`]s for
//! the switch adapter to carry out on FreeSWITCH, [`Update`]s for the dashboard and the store. Timers are pulled, not pushed: the driver asks
//! [`Engine::next_deadline`] and calls [`Engine::tick`] when it has passed. So every scenario
//! test runs faster than real time, with synthetic clocks.
//!
//! - [`config`]: queue and agent settings (strategy, prompts, tiers, overflow, back-offs).
//! - [`engine`]: the state machine.
//! - [`output`]: actions and updates.
//! - [`stats`]: counters (service level, ASA, AHT) and the expected-wait estimate.
//! - [`view`]: read-only views for the API.

pub mod config;
pub mod engine;
pub mod output;
pub mod stats;
pub mod view;

pub use config::{AgentConfig, Membership, NoAgents, Overflow, QueueConfig, Strategy};
pub use engine::{AcdError, AgentStatus, CallerArrival, Engine, LineCallback, BARRED};
pub use output::{Action, Departure, Remember, Update};
pub use view::{AgentView, QueueView, WaitingView};
