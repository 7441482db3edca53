//! Dispatch: pairing the head of a queue's line with free agents, by tier and strategy.
//!
//! Invariants: only a `Waiting` caller is offered (a callback once its `not_before` has
//! passed), the first such in the order; only a free agent (available, idle, back-off over)
//! is offered one; tier N opens after (N - 1) × `tier_wait_secs` of the head's wait, and a
//! tier not yet open arms a queue timer; an agent in several queues is offered the most
//! urgent head first.

use super::{Activity, Agent, AgentStatus, Caller, CallerState, Engine, Kind, OrderKey, Timer};
use crate::acd::config::Strategy;
use crate::clock::{self, Millis};

impl Engine {
    pub(super) fn other_queues_of(&self, agent: &str) -> Vec<String> {
        self.agents
            .get(agent)
            .map(|a| a.config.queues.iter().map(|m| m.queue.clone()).collect())
            .unwrap_or_default()
    }

    /// An agent became free: offer them the most urgent head of their queues first.
    pub(super) fn dispatch_agent(&mut self, now: Millis, agent: &str) {
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
    pub(super) fn dispatch(&mut self, now: Millis, queue: &str) {
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
            let waited = clock::elapsed(head_key.enqueued_at, now);
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
                    let at = head_key.enqueued_at + clock::ms(opens_after);
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
                .min_by_key(|n| agent(n).map_or(Millis::MAX, |a| a.idle_since))
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
}
