//! Position announcements: on entry, when a caller's position changes, and periodically,
//! with the expected wait when the queue says so.
//!
//! The first expected wait a caller hears in a queue is their promise: kept until an agent
//! answers (then told as `Update::WaitPromised`), dropped when they leave the queue otherwise
//! (a move or an overflow starts afresh in the new queue).
//!
//! Invariants: nothing is announced into a call being connected, nor to a callback; a
//! caller hears a changed position no sooner than `min_gap_secs` after the last; a queue
//! announces at most `ANNOUNCE_BURST` at once and keeps one armed announce timer, on whole
//! seconds plus its own phase, so queues take turns.

use super::{CallerState, Engine, Kind, Timer};
use crate::acd::output::{Action, Update};
use crate::acd::stats::expected_wait_minutes;
use crate::clock::{self, Millis};

/// At most this many position-change announcements per queue at once...
const ANNOUNCE_BURST: usize = 8;

/// ...and the next ones this much later.
const ANNOUNCE_SPREAD_MS: Millis = 250;

impl Engine {
    pub(super) fn announce(&mut self, now: Millis, id: &str) {
        let Some(position) = self.position(id) else {
            return;
        };
        self.announce_at(now, id, position);
    }

    /// Says `position` (known to be true now) to the caller.
    fn announce_at(&mut self, now: Millis, id: &str, position: u32) {
        let Some(c) = self.callers.get(id) else {
            return;
        };
        if c.kind != Kind::Live
            || !matches!(c.state, CallerState::Waiting | CallerState::Offered(_))
        {
            // Never into a call that is being bridged.
            return;
        }
        let queue = c.queue.clone();
        let Some(q) = self.queues.get(&queue) else {
            return;
        };
        let wait_minutes = if q.config.announcements.expected_wait {
            expected_wait_minutes(position, now, &q.rate, &q.counters, || self.on_duty(&queue))
        } else {
            None
        };
        self.actions.push_back(Action::Announce {
            call: id.to_owned(),
            queue: queue.clone(),
            position,
            wait_minutes,
        });
        self.updates.push_back(Update::Announced {
            queue: queue.clone(),
            call: id.to_owned(),
            position,
            wait_minutes,
            at: now,
        });
        let mut key = None;
        if let Some(c) = self.callers.get_mut(id) {
            c.announce.last_at = Some(now);
            c.announce.last_position = Some(position);
            if c.announce.promise.is_none() {
                c.announce.promise = wait_minutes.map(|m| (now, u64::from(m) * 60_000));
            }
            key = Some(c.key);
        }
        let place = key.and_then(|key| self.queues.get_mut(&queue)?.order.get_mut(&key));
        if let Some(place) = place {
            place.last_at = Some(now);
            place.last_position = Some(position);
        }
        self.schedule_periodic(now, id);
    }

    pub(super) fn schedule_periodic(&mut self, now: Millis, id: &str) {
        let Some(c) = self.callers.get(id) else {
            return;
        };
        let periodic = self
            .queues
            .get(&c.queue)
            .map_or(0, |q| q.config.announcements.periodic_secs);
        if periodic > 0 {
            // Up to 2 s later per caller, so callers told together are not all told again in
            // the same millisecond.
            let spread = clock::ms((c.key.seq % 16) * 125);
            self.timers.push(
                now + clock::secs(periodic) + spread,
                Timer::Caller(id.to_owned()),
            );
        }
    }

    /// After every input: tell callers whose position changed, when the queue allows it now,
    /// or later.
    pub(super) fn settle(&mut self, now: Millis) {
        let dirty: Vec<String> = self
            .queues
            .iter()
            .filter(|(_, q)| q.dirty)
            .map(|(n, _)| n.clone())
            .collect();
        for name in dirty {
            let Some(q) = self.queues.get_mut(&name) else {
                continue;
            };
            q.dirty = false;
            let policy = q.config.announcements.clone();
            let phase = q.phase;
            if !policy.on_change {
                continue;
            }
            // One pass finds who moved (up, or back behind a returning or raised caller);
            // positions come from that pass, not a recount each.
            let mut due = Vec::new();
            let mut next: Option<Millis> = None;
            // Everyone in the order is waiting or being offered (a bridging caller has left it).
            for (index, place) in q.order.values().enumerate() {
                let position = index as u32 + 1;
                if !place.live || place.last_position.is_none_or(|last| position == last) {
                    continue;
                }
                let earliest = place
                    .last_at
                    .map_or(now, |t| t + clock::secs(policy.min_gap_secs));
                if earliest <= now {
                    due.push((place.id.clone(), position));
                } else {
                    next = Some(next.map_or(earliest, |n: Millis| n.min(earliest)));
                }
            }
            // A burst is spread out: the switch gets a few announcements at a time, and the
            // rest follow a moment later with their positions counted again then.
            if due.len() > ANNOUNCE_BURST {
                next = Some(now + ANNOUNCE_SPREAD_MS);
            }
            for (id, position) in due.into_iter().take(ANNOUNCE_BURST) {
                self.announce_at(now, &id, position);
            }
            // Whole seconds: everyone due within the same second is told in one pass.
            if let Some(at) = next.map(|at| {
                if at == now + ANNOUNCE_SPREAD_MS {
                    at
                } else {
                    // Each queue has its own phase within the second, so a hundred queues
                    // do not all announce in the same millisecond.
                    clock::ms(clock::elapsed(phase, at).div_ceil(1000) * 1000) + phase
                }
            }) {
                let armed = self.queues.get(&name).and_then(|q| q.announce_at);
                if armed.is_none_or(|armed| at < armed || armed <= now) {
                    if let Some(q) = self.queues.get_mut(&name) {
                        q.announce_at = Some(at);
                    }
                    self.timers.push(at, Timer::Announce(name.clone()));
                }
            }
        }
    }
}
