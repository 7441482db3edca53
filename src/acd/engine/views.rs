//! Reading: the views the API shows (types in `acd/view.rs`) and the questions the switch
//! adapter asks when reconciling (tracked calls and legs, legs awaiting an answer).
//!
//! Invariants: read-only: nothing here changes state or pushes an output.

use super::{AcdError, Activity, Agent, Callee, CallerState, Engine, Kind};
use crate::acd::config::{AgentConfig, QueueConfig};
use crate::acd::view::{AgentView, QueueView, WaitingView};
use crate::clock::{self, Millis};

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

impl Engine {
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
                    waited_secs: clock::elapsed(c.key.enqueued_at, now) / 1000,
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

    /// Every agent as [`Engine::agent`] shows them, by name.
    pub fn agents(&self) -> Vec<AgentView> {
        let mut agents: Vec<AgentView> = self
            .agents
            .iter()
            .map(|(name, agent)| agent.view(name, 0, 0))
            .collect();
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        agents
    }

    /// An agent's settings, as last set.
    pub fn agent_config(&self, name: &str) -> Option<&AgentConfig> {
        self.agents.get(name).map(|a| &a.config)
    }

    pub fn queue_config(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.get(name).map(|q| q.config.as_ref())
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
            Some(l) if l.callee == Callee::Customer => !l.answered,
            Some(_) => self.is_ringing_leg(leg),
            None => false,
        }
    }

    /// A live caller in a queue's waiting order (waiting, or being offered), not a callback
    /// and not yet being connected.
    pub fn is_waiting(&self, call: &str) -> bool {
        self.waiting_caller(call).is_ok()
    }

    /// The queue a live caller waits in (waiting, or being offered).
    pub fn waiting_in(&self, call: &str) -> Option<&str> {
        self.waiting_caller(call).ok().map(|c| c.queue.as_str())
    }

    pub fn is_tracked(&self, id: &str) -> bool {
        self.callers.contains_key(id) || self.legs.contains_key(id)
    }
}
