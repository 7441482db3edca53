//! Agents: their settings and memberships, restored counters, status (logged out,
//! available, on break), activity (idle, ringing, in a call, wrap-up), back-offs after a
//! missed offer, and the counts of a queue's staff.
//!
//! Invariants: each queue's `members` is rebuilt whenever an agent's memberships change and
//! stays in (tier, position, name) order; every change of status or activity is told with
//! `Update::AgentChanged`; `idle_since` moves only when the agent becomes idle or leaves a
//! call or wrap-up (the longest-idle strategy reads it); a back-off arms an agent timer.

use super::{AcdError, Activity, Agent, AgentStatus, Engine, Timer};
use crate::acd::config::AgentConfig;
use crate::acd::output::Update;
use crate::clock::{self, Millis};

impl Engine {
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

    pub(super) fn rebuild_members(&mut self, queue: &str) {
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

    /// How many of the queue's agents are in a status `counts` accepts.
    fn members_where(&self, queue: &str, counts: impl Fn(&AgentStatus) -> bool) -> usize {
        self.queues.get(queue).map_or(0, |q| {
            q.members
                .iter()
                .filter(|(_, _, a)| self.agents.get(a).is_some_and(|a| counts(&a.status)))
                .count()
        })
    }

    pub(super) fn logged_in(&self, queue: &str) -> usize {
        self.members_where(queue, |s| *s != AgentStatus::LoggedOut)
    }

    pub(super) fn on_duty(&self, queue: &str) -> usize {
        self.members_where(queue, |s| *s == AgentStatus::Available)
    }

    pub(super) fn agent_changed(&mut self, name: &str) {
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

    pub(super) fn set_activity(
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

    pub(super) fn penalize(&mut self, now: Millis, name: &str, queue: &str, cause: &str) {
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
        agent.backoff_until = now + clock::secs(delay);
        if missed {
            agent.missed += 1;
        }
        let pause = config.max_missed_offers > 0
            && agent.missed >= config.max_missed_offers
            && agent.status == AgentStatus::Available;
        self.timers
            .push(now + clock::secs(delay), Timer::Agent(name.to_owned()));
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
}
