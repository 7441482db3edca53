//! Overflow: a caller leaves their queue for the queue's overflow target (another queue, an
//! extension, or a hangup): after `max_wait_secs`, or when nobody is logged in and the queue
//! says so. `rehome` also carries a supervisor's move.
//!
//! Invariants: a caller sent to another queue keeps arrival time and priority, so the same
//! key places them there; that queue's max wait counts from the move; `switchdesk_queue` is
//! rewritten on the channel so a restart re-adopts them there; a callback never transfers.

use super::{AnnounceState, CallerState, Engine, Kind, OrderKey, Place, Timer};
use crate::acd::config::{NoAgents, Overflow};
use crate::acd::output::{Action, Departure, Remember, Update};
use crate::clock::{self, Millis};

impl Engine {
    /// Callers of queues left with nobody logged in go to overflow when the queue says so.
    pub(super) fn overflow_unstaffed(&mut self, now: Millis, agent: &str) {
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

    pub(super) fn overflow(&mut self, now: Millis, id: &str) {
        let Some(c) = self.callers.get(id).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        self.withdraw(now, id, "ORIGINATOR_CANCEL");
        self.count(now, &c.queue, |counters| counters.overflowed += 1);
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
    pub(super) fn rehome(&mut self, now: Millis, id: &str, target: &str, departure: Departure) {
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
            t.dirty = true;
        }
        self.count(now, target, |c| c.offered += 1);
        self.actions.push_back(Action::Remember {
            call: id.to_owned(),
            what: Remember::Queue(target.to_owned()),
        });
        self.joined(id);
        self.updates.push_back(Update::CountersChanged {
            queue: target.to_owned(),
        });
        if target_max_wait > 0 {
            self.timers.push(
                now + clock::secs(target_max_wait),
                Timer::Caller(id.to_owned()),
            );
        }
        self.announce(now, id);
        self.dispatch(now, target);
    }
}
