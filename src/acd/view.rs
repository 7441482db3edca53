//! Read-only views of the engine's state for the API and the dashboard.

use serde::{Deserialize, Serialize};

use super::config::{QueueConfig, Strategy};
use super::engine::AgentStatus;
use super::stats::Counters;
use crate::clock::Millis;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingView {
    pub call: String,
    pub number: String,
    pub name: String,
    pub position: u32,
    pub waited_secs: u64,
    pub priority: i32,
    pub enqueued_at: Millis,
    /// A callback keeping the place of a caller who hung up.
    pub callback: bool,
    /// An agent's phone is ringing for this caller.
    pub offered: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentView {
    pub name: String,
    pub endpoint: crate::fsarg::Endpoint,
    pub tier: u32,
    pub position: u32,
    pub status: AgentStatus,
    /// `idle`, `ringing`, `in_call` or `wrap_up`.
    pub activity: String,
    pub since: Millis,
    /// When wrap-up ends (Unix ms), while the agent is in wrap-up.
    pub wrap_up_until: Option<Millis>,
    pub call: Option<String>,
    pub calls: u64,
    pub talk_secs: u64,
}

impl AgentView {
    /// One word for what the agent does now: what they are busy with (`ringing`, `in_call`,
    /// `wrap_up`) before their status (`available`, `on_break`, `logged_out`).
    pub fn state(&self) -> &str {
        match self.activity.as_str() {
            "idle" => self.status.label(),
            busy => busy,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountersView {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub overflowed: u64,
    /// Callers a supervisor sent to another queue.
    pub moved: u64,
    pub callbacks: u64,
    pub callbacks_pending: u64,
    pub exited: u64,
    /// Answered within the threshold / answered.
    pub service_level: Option<f64>,
    /// (Answered + abandoned within the threshold) / (answered + abandoned).
    pub service_level_2: Option<f64>,
    pub service_level_secs: u64,
    pub average_speed_of_answer_secs: Option<f64>,
    pub average_handle_time_secs: Option<f64>,
    pub answered_rate: Option<f64>,
    /// The longest current wait.
    pub longest_wait_secs: u64,
    pub longest_wait_answered_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    pub strategy: Strategy,
    pub waiting: Vec<WaitingView>,
    pub agents: Vec<AgentView>,
    pub counters: CountersView,
    /// When the wallboard shows the queue amber or red.
    pub alerts: super::config::Alerts,
}

impl QueueView {
    pub(crate) fn new(
        config: &QueueConfig,
        waiting: Vec<WaitingView>,
        agents: Vec<AgentView>,
        counters: &Counters,
        longest_wait_secs: u64,
        callbacks_pending: u64,
    ) -> QueueView {
        QueueView {
            name: config.name.clone(),
            alerts: config.alerts.clone(),
            strategy: config.strategy,
            waiting,
            agents,
            counters: CountersView {
                offered: counters.offered,
                answered: counters.answered,
                abandoned: counters.abandoned,
                overflowed: counters.overflowed,
                moved: counters.moved,
                callbacks: counters.callbacks,
                callbacks_pending,
                exited: counters.exited,
                service_level: counters.service_level(),
                service_level_2: counters.service_level_2(),
                service_level_secs: config.service_level_secs,
                average_speed_of_answer_secs: counters.asa_secs(),
                average_handle_time_secs: counters.aht_secs(),
                answered_rate: counters.answered_rate(),
                longest_wait_secs,
                longest_wait_answered_secs: counters.longest_wait_answered_ms / 1000,
            },
        }
    }
}
