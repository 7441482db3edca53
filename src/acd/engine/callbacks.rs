//! Callbacks: a caller who hung up to be called back keeps the place under the same id;
//! when an agent answers, the engine dials the customer, and a failed attempt is tried
//! again later until the queue's attempts run out. (A caller asks for one with the callback
//! key: `dtmf`, in `callers`.)
//!
//! Invariants: a callback's `Place` is not live (never announced to); the store learns of
//! every change (`Update::CallbackQueued`, `Update::CallbackDone`); a barred destination is
//! not tried again; only a dialable number becomes a callback.

use std::cmp::Reverse;

use super::{AcdError, AnnounceState, Callee, Caller, CallerState, Engine, Kind, Leg};
use super::{OrderKey, Place, Timer};
use crate::acd::output::{Action, Departure, Update};
use crate::clock::{self, Millis};

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
                kind: Kind::Callback {
                    attempts,
                    not_before,
                },
                state: CallerState::Waiting,
                announce: AnnounceState::default(),
                call_leg: None,
                limit_from: enqueued_at,
            },
        );
        let place = self.callers.get(id).map(Place::of);
        if let (Some(q), Some(place)) = (self.queues.get_mut(queue), place) {
            q.order.insert(key, place);
        }
        self.timers.push(not_before, Timer::Caller(id.to_owned()));
        Ok(())
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
