//! What a caller's channel does: arrives (or is re-adopted after a restart), presses a key
//! (the exit key, or the callback key that turns them into a callback keeping the place),
//! hangs up. Owns the memory of abandoned callers, so one who calls again soon resumes at
//! their original arrival.
//!
//! Invariants: an arrival is answered (unless already) and its arrival time and priority are
//! written on the channel, so a restart re-adopts them in place; a re-adopted arrival time is
//! never later than now nor more than a day old; only dialable numbers are remembered, and
//! remembered entries are forgotten by expiry, not by a scan per input.

use std::cmp::Reverse;

use super::callbacks::dialable;
use super::{AcdError, AnnounceState, Caller, CallerArrival, CallerState, Engine, Kind};
use super::{OrderKey, Place, Timer};
use crate::acd::config::{NoAgents, MAX_QUEUE_SECS};
use crate::acd::output::{Action, Departure, Remember, Update};
use crate::clock::{self, Millis};

impl Engine {
    pub fn caller_arrived(&mut self, now: Millis, arrival: CallerArrival) -> Result<(), AcdError> {
        let queue = self
            .queues
            .get(&arrival.queue)
            .ok_or_else(|| AcdError::UnknownQueue(arrival.queue.clone()))?;
        if self.callers.contains_key(&arrival.call) {
            return Err(AcdError::DuplicateCall(arrival.call));
        }
        let config = queue.config.clone();
        let readopted = arrival.enqueued_at.is_some();
        let resumed = if readopted || !dialable(&arrival.number) {
            None
        } else {
            self.abandoned
                .remove(&(arrival.queue.clone(), arrival.number.clone()))
                .filter(|&(_, until)| until >= now)
                .map(|(at, _)| at)
        };
        // A re-adopted caller's arrival comes from a channel variable: never later than now
        // and no earlier than a day ago, so no deadline computed from it wraps or makes every
        // re-adopted caller overflow at once.
        let readopted_at = arrival
            .enqueued_at
            .map(|at| at.clamp(now.saturating_sub(clock::secs(MAX_QUEUE_SECS)), now));
        let enqueued_at = readopted_at.or(resumed).unwrap_or(now);
        self.seq += 1;
        let key = OrderKey {
            priority: Reverse(arrival.priority),
            enqueued_at,
            seq: self.seq,
        };
        let id = arrival.call.clone();
        let caller = Caller {
            id: id.clone(),
            queue: arrival.queue.clone(),
            number: arrival.number.clone(),
            name: arrival.name.clone(),
            key,
            kind: Kind::Live,
            state: CallerState::Waiting,
            announce: AnnounceState::default(),
            call_leg: Some(id.clone()),
            limit_from: enqueued_at,
        };
        let place = Place::of(&caller);
        self.callers.insert(id.clone(), caller);
        if let Some(q) = self.queues.get_mut(&arrival.queue) {
            q.order.insert(key, place);
            // Someone behind the newcomer (a returning caller, a higher priority, a caller
            // re-adopted in their old place) moved back one: they hear it in `settle`.
            q.dirty |= q
                .order
                .last_key_value()
                .is_some_and(|(last, _)| *last != key);
        }
        // A re-adopted caller was counted by the process that first queued them, and the
        // day's counters were restored from what it stored.
        if !arrival.counted {
            self.count(now, &arrival.queue, |c| c.offered += 1);
        }
        if !arrival.answered {
            self.actions.push_back(Action::Answer { call: id.clone() });
        }
        self.actions.push_back(Action::Remember {
            call: id.clone(),
            what: Remember::EnqueuedAt(enqueued_at),
        });
        self.actions.push_back(Action::Remember {
            call: id.clone(),
            what: Remember::Priority(arrival.priority),
        });
        self.joined(&id);
        self.updates.push_back(Update::CountersChanged {
            queue: arrival.queue.clone(),
        });
        if config.max_wait_secs > 0 {
            self.timers.push(
                enqueued_at + clock::secs(config.max_wait_secs),
                Timer::Caller(id.clone()),
            );
        }
        if config.no_agents == NoAgents::Overflow && self.logged_in(&arrival.queue) == 0 {
            self.overflow(now, &id);
            self.settle(now);
            return Ok(());
        }
        if config.max_wait_secs > 0 && now >= enqueued_at + clock::secs(config.max_wait_secs) {
            self.overflow(now, &id);
            self.settle(now);
            return Ok(());
        }
        // Ring an agent first: every millisecond before the phone rings is the caller's.
        self.dispatch(now, &arrival.queue);
        if config.announcements.on_entry {
            self.announce(now, &id);
        } else {
            self.actions.push_back(Action::HoldMusic {
                call: id.clone(),
                queue: arrival.queue.clone(),
            });
            self.schedule_periodic(now, &id);
        }
        self.settle(now);
        Ok(())
    }

    /// Any channel hung up: a caller, or a leg this engine started.
    pub fn channel_hung_up(&mut self, now: Millis, uuid: &str, cause: &str) {
        if self.legs.contains_key(uuid) {
            self.leg_failed(now, uuid, cause);
        } else {
            self.caller_hung_up(now, uuid);
        }
    }

    /// The caller's channel hung up (CHANNEL_HANGUP_COMPLETE).
    pub fn caller_hung_up(&mut self, now: Millis, call: &str) {
        if let Some(leg) = self.legs.get(call).cloned() {
            // A callback's customer leg.
            self.leg_ended(now, call, &leg, "NORMAL_CLEARING");
            self.settle(now);
            return;
        }
        let Some(caller) = self.callers.get(call).cloned() else {
            return;
        };
        if let Kind::Callback { .. } = caller.kind {
            // The caller hung up after asking for a callback: the place is kept.
            return;
        }
        match caller.state {
            CallerState::Waiting | CallerState::Offered(_) | CallerState::Bridging { .. } => {
                self.withdraw(now, call, "ORIGINATOR_CANCEL");
                let waited = clock::elapsed(caller.key.enqueued_at, now);
                let short_ms = self.short_abandon_ms;
                if let Some(sl_secs) = self
                    .queues
                    .get(&caller.queue)
                    .map(|q| q.config.service_level_secs)
                {
                    self.count(now, &caller.queue, |c| {
                        c.record_abandon(waited, sl_secs, short_ms)
                    });
                }
                if let Some(q) = self.queues.get_mut(&caller.queue) {
                    if dialable(&caller.number) && q.config.resume_secs > 0 {
                        let key = (caller.queue.clone(), caller.number.clone());
                        let until = now + clock::secs(q.config.resume_secs);
                        self.abandoned
                            .insert(key.clone(), (caller.key.enqueued_at, until));
                        self.abandoned_expiry.push_back((until, key));
                    }
                }
                self.depart(call, Departure::Abandoned);
            }
            CallerState::Bridged { agent, since, .. } => self.end_call(now, call, &agent, since),
        }
        self.prune_abandoned(now);
        self.settle(now);
    }

    fn prune_abandoned(&mut self, now: Millis) {
        while let Some((until, _)) = self.abandoned_expiry.front() {
            if *until >= now {
                break;
            }
            if let Some((_, key)) = self.abandoned_expiry.pop_front() {
                if self.abandoned.get(&key).is_some_and(|&(_, u)| u < now) {
                    self.abandoned.remove(&key);
                }
            }
        }
    }

    /// A digit from a waiting caller: the exit key or the callback key.
    pub fn dtmf(&mut self, now: Millis, call: &str, digit: char) {
        let Some(caller) = self.callers.get(call).cloned() else {
            return;
        };
        if caller.kind != Kind::Live
            || !matches!(caller.state, CallerState::Waiting | CallerState::Offered(_))
        {
            return;
        }
        let Some(config) = self.queues.get(&caller.queue).map(|q| q.config.clone()) else {
            return;
        };
        let exit = (config.exit_key == Some(digit))
            .then(|| config.exit_extension.clone())
            .flatten();
        if let Some(extension) = exit {
            self.withdraw(now, call, "ORIGINATOR_CANCEL");
            self.count(now, &config.name, |c| c.exited += 1);
            self.actions.push_back(Action::Transfer {
                call: call.to_owned(),
                extension: extension.clone(),
            });
            self.depart(
                call,
                Departure::Exited {
                    extension: extension.to_string(),
                },
            );
        } else if config.callbacks.key == Some(digit) && dialable(&caller.number) {
            self.withdraw_offer_only(now, call);
            let number = caller.number.clone();
            let enqueued_at = caller.key.enqueued_at;
            if let Some(c) = self.callers.get_mut(call) {
                c.kind = Kind::Callback {
                    attempts: 0,
                    not_before: now,
                };
                c.state = CallerState::Waiting;
                c.call_leg = None;
            }
            self.count(now, &config.name, |c| c.callbacks += 1);
            if let Some(q) = self.queues.get_mut(&config.name) {
                // The place stays, held by a callback: no more announcements to it.
                if let Some(place) = q.order.get_mut(&caller.key) {
                    place.live = false;
                }
            }
            self.actions.push_back(Action::ConfirmCallback {
                call: call.to_owned(),
                queue: config.name.clone(),
            });
            self.updates.push_back(Update::CallerLeft {
                queue: config.name.clone(),
                id: call.to_owned(),
                departure: Departure::CallbackRequested,
            });
            self.updates.push_back(Update::CallbackQueued {
                queue: config.name.clone(),
                id: call.to_owned(),
                number,
                enqueued_at,
                attempts: 0,
                not_before: now,
            });
            self.updates.push_back(Update::CountersChanged {
                queue: config.name.clone(),
            });
            self.dispatch(now, &config.name);
        }
        self.settle(now);
    }
}
