//! The waiting order: each queue's `BTreeMap` keyed by (priority, arrival, sequence), so a
//! position is a rank and a caller put back keeps their place. Owns `OrderKey` and `Place`,
//! positions, going back in line (`requeue`), leaving it (`depart`), and a supervisor's
//! `move_caller` and `to_front`.
//!
//! Invariants: a caller is in the order exactly while `Waiting` or `Offered`; their `Place`
//! mirrors their key, whether they are live, and their last announcement; whatever moves
//! others in the order sets the queue's `dirty`, so `settle` tells them.

use std::cmp::Reverse;

use super::{AcdError, Caller, CallerState, Engine, Kind};
use crate::acd::output::{Action, Departure, Remember, Update};
use crate::clock::Millis;

/// Waiting order: higher priority first, then earlier arrival, then arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct OrderKey {
    pub(super) priority: Reverse<i32>,
    pub(super) enqueued_at: Millis,
    pub(super) seq: u64,
}

/// A caller's place in a queue's waiting order, carrying what the position-change pass reads,
/// so that pass walks the order alone (no lookup per waiting caller).
#[derive(Clone, Debug)]
pub(super) struct Place {
    pub(super) id: String,
    /// A caller on the line (not a callback keeping the place).
    pub(super) live: bool,
    pub(super) last_at: Option<Millis>,
    pub(super) last_position: Option<u32>,
}

impl Place {
    pub(super) fn of(c: &Caller) -> Place {
        Place {
            id: c.id.clone(),
            live: c.kind == Kind::Live,
            last_at: c.announce.last_at,
            last_position: c.announce.last_position,
        }
    }
}

impl Engine {
    /// 1-based place in the queue's waiting order.
    pub(super) fn position(&self, id: &str) -> Option<u32> {
        let c = self.callers.get(id)?;
        let q = self.queues.get(&c.queue)?;
        q.order
            .contains_key(&c.key)
            .then(|| q.order.range(..c.key).count() as u32 + 1)
    }

    /// Tells the dashboard the caller (back) in their queue's order, at their position now.
    pub(super) fn joined(&mut self, id: &str) {
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

    pub(super) fn requeue(&mut self, now: Millis, id: &str) {
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

    pub(super) fn remove_from_order(&mut self, id: &str) {
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

    pub(super) fn depart_update(&mut self, id: &str, departure: Departure) {
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
    pub(super) fn depart(&mut self, id: &str, departure: Departure) {
        self.remove_from_order(id);
        self.depart_update(id, departure);
        self.callers.remove(id);
    }

    /// The live caller `call`, still in a queue's waiting order, or why not.
    pub(super) fn waiting_caller(&self, call: &str) -> Result<&Caller, AcdError> {
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
        self.count(now, &from, |c| c.moved += 1);
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
        self.actions.push_back(Action::Remember {
            call: call.to_owned(),
            what: Remember::Priority(priority),
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
}
