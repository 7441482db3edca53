//! What the engine counts. Every change of a queue's counters goes through [`Engine::count`],
//! which applies it and tells it as `Update::Counted` (the delta and when), so the statistics
//! recorder stores exactly what the wallboard shows, with no second definition of what counts.
//! The day's start replaces the counters (and agents' calls and talk time) with the day's
//! totals so far: zero at the boundary, the stored sums after a restart.
//!
//! Invariants: a queue's `counters` change only here; the answer rate (the expected wait's
//! input) is not reset with the day, so announcements keep their estimate across midnight.

use std::collections::HashMap;

use super::Engine;
use crate::acd::output::Update;
use crate::acd::stats::{AgentTotals, Counters};
use crate::clock::Millis;

impl Engine {
    /// Abandons after a wait under this are short abandons (0: none are).
    pub fn set_short_abandon_secs(&mut self, secs: u64) {
        self.short_abandon_ms = secs.saturating_mul(1000);
    }

    /// Applies to `queue`'s counters what `change` records into an empty delta, and tells it.
    pub(super) fn count(&mut self, now: Millis, queue: &str, change: impl FnOnce(&mut Counters)) {
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        let mut delta = Counters::default();
        change(&mut delta);
        q.counters.add(&delta);
        self.updates.push_back(Update::Counted {
            queue: queue.to_owned(),
            at: now,
            delta,
        });
    }

    /// A new day: each queue's counters become `queues`' entry (zero without one), each
    /// agent's calls and talk time `agents`' entry (zero without one).
    pub fn start_day(
        &mut self,
        queues: &HashMap<String, Counters>,
        agents: &HashMap<String, AgentTotals>,
    ) {
        for (name, q) in &mut self.queues {
            q.counters = queues.get(name).cloned().unwrap_or_default();
            self.updates.push_back(Update::CountersChanged {
                queue: name.clone(),
            });
        }
        let mut changed = Vec::new();
        for (name, a) in &mut self.agents {
            let totals = agents.get(name).copied().unwrap_or_default();
            if (a.calls, a.talk_ms) != (totals.calls, totals.talk_ms) {
                a.calls = totals.calls;
                a.talk_ms = totals.talk_ms;
                changed.push(name.clone());
            }
        }
        changed.sort();
        for name in changed {
            self.agent_changed(&name);
        }
    }
}
