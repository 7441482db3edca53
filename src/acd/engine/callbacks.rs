//! Callbacks: a caller who hung up to be called back keeps the place under the same id;
//! when an agent answers, the engine dials the customer, and a failed attempt is tried
//! again later until the queue's attempts run out. (A caller asks for one with the callback
//! key: `dtmf`, in `callers`.) A ticket escalated to a support line with a queue of its own
//! has its caller called back from there ([`Engine::call_back_from`]).
//!
//! Invariants: a callback's `Place` is not live (never announced to); the store learns of
//! every change (`Update::CallbackQueued`, `Update::CallbackDone`); a barred destination is
//! not tried again; only a dialable number becomes a callback.

use std::cmp::Reverse;

use super::{AcdError, AnnounceState, Callee, Caller, CallerState, Engine, Kind, Leg};
use super::{OrderKey, Place, Timer};
use crate::acd::output::{Action, Departure, Update};
use crate::clock::{self, Millis};

/// What [`Engine::call_back_from`] did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LineCallback {
    /// The callback waiting for the number moved to the queue, keeping its place.
    Moved {
        id: String,
        from: String,
        queue: String,
    },
    /// A callback was queued there, its place at when the caller first called.
    Queued { id: String, queue: String },
    /// The callback waiting for the number is there already.
    AlreadyThere { id: String, queue: String },
}

impl Engine {
    /// Re-adopts a callback kept in the store after a restart.
    pub fn restore_callback(
        &mut self,
        queue: &str,
        id: &str,
        number: &str,
        enqueued_at: Millis,
        attempts: u32,
        not_before: Millis,
    ) -> Result<(), AcdError> {
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.into()));
        }
        if self.callers.contains_key(id) {
            return Err(AcdError::DuplicateCall(id.into()));
        }
        let kind = Kind::Callback {
            attempts,
            not_before,
        };
        self.insert_callback(queue, id, number, enqueued_at, kind, enqueued_at);
        self.timers.push(not_before, Timer::Caller(id.to_owned()));
        Ok(())
    }

    /// The caller of `number` is to be called back from `queue` (the support line their
    /// ticket reached). A callback already waiting for that number, in any queue, moves there
    /// and keeps its place; otherwise, when `create`, one is queued there (id `new_id`) with
    /// its place at `enqueued_at`, when the caller first called. `None`: nothing waits for
    /// the number and nothing was to be created.
    pub fn call_back_from(
        &mut self,
        now: Millis,
        queue: &str,
        number: &str,
        new_id: &str,
        enqueued_at: Millis,
        create: bool,
    ) -> Result<Option<LineCallback>, AcdError> {
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.into()));
        }
        if !dialable(number) {
            return Err(AcdError::Invalid(vec![format!(
                "{number:?} is not a number that can be called back"
            )]));
        }
        let waiting = self
            .callers
            .values()
            .find(|c| matches!(c.kind, Kind::Callback { .. }) && c.number == number)
            .map(|c| (c.id.clone(), c.queue.clone(), c.state.clone()));
        match waiting {
            Some((id, from, _)) if from == queue => Ok(Some(LineCallback::AlreadyThere {
                id,
                queue: queue.to_owned(),
            })),
            Some((id, _, state)) if !matches!(state, CallerState::Waiting) => {
                Err(AcdError::Invalid(vec![format!(
                    "the callback {id} to {number} is being dialled now"
                )]))
            }
            Some((id, from, _)) => {
                self.move_callback(now, &id, &from, queue);
                Ok(Some(LineCallback::Moved {
                    id,
                    from,
                    queue: queue.to_owned(),
                }))
            }
            None if create => {
                if self.callers.contains_key(new_id) {
                    return Err(AcdError::DuplicateCall(new_id.into()));
                }
                self.queue_callback(now, queue, new_id, number, enqueued_at);
                Ok(Some(LineCallback::Queued {
                    id: new_id.to_owned(),
                    queue: queue.to_owned(),
                }))
            }
            None => Ok(None),
        }
    }

    /// Moves a waiting callback to `to`, keeping its arrival time and attempts.
    fn move_callback(&mut self, now: Millis, id: &str, from: &str, to: &str) {
        self.remove_from_order(id);
        self.count(now, from, |c| c.moved += 1);
        self.depart_update(id, Departure::Moved { to: to.into() });
        self.seq += 1;
        let seq = self.seq;
        let Some(c) = self.callers.get_mut(id) else {
            return;
        };
        c.queue = to.to_owned();
        c.key.seq = seq;
        let (key, place) = (c.key, Place::of(c));
        let (number, kind) = (c.number.clone(), c.kind.clone());
        if let Some(q) = self.queues.get_mut(to) {
            q.order.insert(key, place);
            q.dirty = true;
        }
        self.joined(id);
        if let Kind::Callback {
            attempts,
            not_before,
        } = kind
        {
            self.updates.push_back(Update::CallbackQueued {
                queue: to.to_owned(),
                id: id.to_owned(),
                number,
                enqueued_at: key.enqueued_at,
                attempts,
                not_before,
            });
        }
        self.dispatch(now, from);
        self.dispatch(now, to);
        self.settle(now);
    }

    /// Queues a callback to `number` in `queue`, its place at `enqueued_at`.
    fn queue_callback(
        &mut self,
        now: Millis,
        queue: &str,
        id: &str,
        number: &str,
        enqueued_at: Millis,
    ) {
        let kind = Kind::Callback {
            attempts: 0,
            not_before: now,
        };
        self.insert_callback(queue, id, number, enqueued_at, kind, now);
        self.count(now, queue, |c| c.callbacks += 1);
        self.joined(id);
        self.updates.push_back(Update::CallbackQueued {
            queue: queue.to_owned(),
            id: id.to_owned(),
            number: number.to_owned(),
            enqueued_at,
            attempts: 0,
            not_before: now,
        });
        self.updates.push_back(Update::CountersChanged {
            queue: queue.to_owned(),
        });
        self.timers.push(now, Timer::Caller(id.to_owned()));
        self.dispatch(now, queue);
        self.settle(now);
    }

    /// Puts a callback in `queue`'s order, its place at `enqueued_at`.
    fn insert_callback(
        &mut self,
        queue: &str,
        id: &str,
        number: &str,
        enqueued_at: Millis,
        kind: Kind,
        limit_from: Millis,
    ) {
        self.seq += 1;
        let key = OrderKey {
            priority: Reverse(0),
            enqueued_at,
            seq: self.seq,
        };
        self.callers.insert(
            id.to_owned(),
            Caller {
                id: id.to_owned(),
                queue: queue.to_owned(),
                number: number.to_owned(),
                name: String::new(),
                key,
                kind,
                state: CallerState::Waiting,
                announce: AnnounceState::default(),
                call_leg: None,
                limit_from,
            },
        );
        let place = self.callers.get(id).map(Place::of);
        if let (Some(q), Some(place)) = (self.queues.get_mut(queue), place) {
            q.order.insert(key, place);
            q.dirty = true;
        }
    }

    pub(super) fn dial_customer(&mut self, now: Millis, offer: u64, caller: &str) {
        let Some(c) = self.callers.get(caller).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        let leg = self.new_uuid();
        let agent = match &c.state {
            CallerState::Bridging { agent, .. } => agent.clone(),
            _ => return,
        };
        self.legs.insert(
            leg.clone(),
            Leg {
                offer,
                agent,
                callee: Callee::Customer,
                answered: false,
            },
        );
        if let Some(c) = self.callers.get_mut(caller) {
            c.call_leg = Some(leg.clone());
        }
        let dial = match config.callbacks.dial.fill(&c.number) {
            Ok(dial) => dial,
            Err(_) => {
                // Only a number too long for the template gets here (`dialable` was checked).
                self.leg_failed(now, &leg, "INVALID_NUMBER_FORMAT");
                return;
            }
        };
        self.actions.push_back(Action::DialCustomer {
            leg: leg.clone(),
            number: c.number.clone(),
            dial,
            queue: c.queue.clone(),
            timeout_secs: config.callbacks.ring_secs,
            caller_id_number: config.callbacks.caller_id_number.clone(),
            caller_id_name: config.callbacks.caller_id_name.clone(),
        });
        self.timers.push(
            now + clock::secs(config.callbacks.ring_secs + 5),
            Timer::Offer(offer),
        );
    }

    pub(super) fn callback_attempt_failed(&mut self, now: Millis, id: &str, last: bool) {
        let Some(c) = self.callers.get(id).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        let attempts = match c.kind {
            Kind::Callback { attempts, .. } => attempts + 1,
            Kind::Live => return,
        };
        if last || attempts >= config.callbacks.attempts {
            self.callers.remove(id);
            self.updates.push_back(Update::CallbackDone {
                queue: c.queue.clone(),
                id: id.to_owned(),
                reached: false,
            });
            self.updates.push_back(Update::CallerLeft {
                queue: c.queue.clone(),
                id: id.to_owned(),
                departure: Departure::CallbackFailed,
            });
            return;
        }
        let not_before = now + clock::secs(config.callbacks.retry_secs);
        if let Some(c) = self.callers.get_mut(id) {
            c.kind = Kind::Callback {
                attempts,
                not_before,
            };
            c.state = CallerState::Waiting;
            c.call_leg = None;
        }
        let place = self.callers.get(id).map(Place::of);
        if let (Some(q), Some(place)) = (self.queues.get_mut(&c.queue), place) {
            q.order.insert(c.key, place);
            q.dirty = true;
        }
        self.joined(id);
        self.updates.push_back(Update::CallbackQueued {
            queue: c.queue.clone(),
            id: id.to_owned(),
            number: c.number.clone(),
            enqueued_at: c.key.enqueued_at,
            attempts,
            not_before,
        });
        self.timers.push(not_before, Timer::Caller(id.to_owned()));
    }
}

/// A number that can be called back and recognised when it calls again.
pub(super) fn dialable(number: &str) -> bool {
    let digits = number.trim_start_matches('+');
    digits.len() >= 3 && digits.chars().all(|c| c.is_ascii_digit())
}
