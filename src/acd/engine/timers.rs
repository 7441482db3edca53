//! Timers: the heap of what is due when, and what each timer does when it fires: an offer
//! rang too long, an agent's wrap-up or back-off ended, a caller's max wait, periodic
//! announcement or callback time came. (`tick` in `mod.rs` drains them.)
//!
//! Invariants: timers are pulled (`next_deadline`, `tick`), never cancelled: each handler
//! checks that what it acts on is still current, so a stale timer does nothing; ties fire in
//! the order they were set.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Activity, Callee, CallerState, Engine, Kind};
use crate::clock::{self, Millis};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    Offer(u64),
    Agent(String),
    Caller(String),
    Queue(String),
    /// Callers of this queue who moved up may be told their new position now.
    Announce(String),
}

/// Timers by due time; ties keep insertion order. Only `(at, seq)` is compared, so a heap of
/// thousands of timers never compares their payloads.
#[derive(Default)]
pub(super) struct Timers {
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
    pub(super) fn push(&mut self, at: Millis, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse(TimerEntry {
            at,
            seq: self.seq,
            timer,
        }));
    }

    pub(super) fn next_at(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }

    pub(super) fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        if self.next_at()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry.timer)
    }
}

impl Engine {
    pub(super) fn offer_timed_out(&mut self, now: Millis, offer: u64) {
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
                .filter(|l| l.callee == Callee::Customer)
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

    pub(super) fn agent_timer(&mut self, now: Millis, name: &str) {
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

    pub(super) fn caller_timer(&mut self, now: Millis, id: &str) {
        // Fires often (every periodic announcement): read what is needed, clone nothing big.
        let Some(c) = self.callers.get(id) else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| &q.config) else {
            return;
        };
        let waiting = matches!(c.state, CallerState::Waiting | CallerState::Offered(_));
        let max_wait = clock::secs(config.max_wait_secs);
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
                .is_some_and(|t| t + clock::secs(policy.periodic_secs) <= now);
        let gap_passed = policy.on_change
            && c.announce
                .last_at
                .is_some_and(|t| t + clock::secs(policy.min_gap_secs) <= now);
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
}
