//! The connected call: the bridge reported or refused, the call's end (talk time, wrap-up),
//! and a call re-adopted already bridged after a restart.
//!
//! Invariants: a caller counts as answered (service level, answer rate, the agent's calls)
//! when the bridge is reported, not when the agent picks up; the end of a call forgets its
//! legs and offer and starts the agent's wrap-up, or frees the agent at once.

use std::cmp::Reverse;

use super::{AcdError, Activity, AnnounceState, Caller, CallerState, Engine, Kind, Leg};
use super::{Callee, Offer, OrderKey};
use crate::acd::output::Update;
use crate::acd::stats::within_service_level;
use crate::acd::stats::PromisedWait;
use crate::clock::{self, Millis};

impl Engine {
    /// FreeSWITCH reported the bridge (CHANNEL_BRIDGE on the caller's leg).
    pub fn bridged(&mut self, now: Millis, call: &str) {
        let id = self.caller_of_call(call);
        let Some(c) = id.as_deref().and_then(|id| self.callers.get(id)).cloned() else {
            return;
        };
        let CallerState::Bridging { agent, leg } = c.state.clone() else {
            return;
        };
        let waited = clock::elapsed(c.key.enqueued_at, now);
        if let Some(caller) = self.callers.get_mut(&c.id) {
            caller.state = CallerState::Bridged {
                agent: agent.clone(),
                leg,
                since: now,
            };
        }
        let mut within_sl = false;
        if let Some(q) = self.queues.get_mut(&c.queue) {
            q.rate.record(now);
            let sl_secs = q.config.service_level_secs;
            within_sl = within_service_level(waited, sl_secs);
            self.count(now, &c.queue, |counters| {
                counters.record_answer(waited, sl_secs)
            });
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.calls += 1;
        }
        if let Some((told_at, promised_ms)) = c.announce.promise {
            self.updates.push_back(Update::WaitPromised(PromisedWait {
                queue: c.queue.clone(),
                call: c.id.clone(),
                told_at,
                promised_ms,
                answered_at: now,
            }));
        }
        if let Kind::Callback { .. } = c.kind {
            self.updates.push_back(Update::CallbackDone {
                queue: c.queue.clone(),
                id: c.id.clone(),
                reached: true,
            });
        }
        self.updates.push_back(Update::Connected {
            queue: c.queue.clone(),
            call: c.id.clone(),
            agent,
            waited_ms: waited,
            within_sl,
        });
        self.updates.push_back(Update::CountersChanged {
            queue: c.queue.clone(),
        });
    }

    /// `uuid_bridge` was refused. `caller_gone` says FreeSWITCH no longer has the caller's
    /// channel (`uuid_exists` false: hung up, perhaps still lingering in CS_REPORTING): the
    /// caller left, and is never offered again. Otherwise the agent leg failed: free it and put
    /// the caller back in line.
    pub fn bridge_failed(&mut self, now: Millis, call: &str, caller_gone: bool) {
        if caller_gone {
            self.channel_hung_up(now, call, "ORIGINATOR_CANCEL");
            return;
        }
        let Some(id) = self.caller_of_call(call) else {
            return;
        };
        let Some(c) = self.callers.get(&id).cloned() else {
            return;
        };
        let CallerState::Bridging { agent, leg } = c.state else {
            return;
        };
        if let Some(l) = self.legs.get(&leg).cloned() {
            self.offers.remove(&l.offer);
        }
        self.drop_leg(&leg, "NORMAL_TEMPORARY_FAILURE");
        self.set_activity(now, &agent, Activity::Idle, None);
        if c.kind == Kind::Live {
            self.requeue(now, &id);
        } else {
            self.callback_attempt_failed(now, &id, false);
        }
        self.settle(now);
    }

    fn caller_of_call(&self, call: &str) -> Option<String> {
        if self.callers.contains_key(call) {
            return Some(call.to_owned());
        }
        let leg = self.legs.get(call)?;
        self.offers.get(&leg.offer).map(|o| o.caller.clone())
    }

    pub(super) fn end_call(&mut self, now: Millis, id: &str, agent: &str, since: Millis) {
        let Some(c) = self.callers.remove(id) else {
            return;
        };
        let talk = clock::elapsed(since, now);
        let wrap_up = self
            .queues
            .get(&c.queue)
            .map_or(0, |q| q.config.wrap_up_secs);
        self.count(now, &c.queue, |counters| {
            counters.calls_ended += 1;
            counters.total_talk_ms += talk;
        });
        if let Some(a) = self.agents.get_mut(agent) {
            a.talk_ms += talk;
        }
        // Forget the legs of this call: the agent's, and a callback's customer leg.
        let legs = [c.call_leg.as_deref(), bridged_leg(&c.state)];
        for leg in legs.into_iter().flatten() {
            if let Some(l) = self.legs.remove(leg) {
                self.offers.remove(&l.offer);
            }
        }
        self.updates.push_back(Update::Ended {
            queue: c.queue.clone(),
            call: id.to_owned(),
            agent: agent.to_owned(),
            talk_ms: talk,
        });
        self.updates.push_back(Update::CountersChanged {
            queue: c.queue.clone(),
        });
        if wrap_up > 0 {
            self.set_activity(
                now,
                agent,
                Activity::WrapUp {
                    until: now + clock::secs(wrap_up),
                },
                None,
            );
        } else {
            self.set_activity(now, agent, Activity::Idle, None);
            self.dispatch_agent(now, agent);
        }
    }

    /// Re-adopts a call that was already bridged to an agent when the service restarted.
    pub fn adopt_bridged(
        &mut self,
        now: Millis,
        call: &str,
        queue: &str,
        agent: &str,
        leg: &str,
        since: Millis,
    ) -> Result<(), AcdError> {
        if !self.queues.contains_key(queue) {
            return Err(AcdError::UnknownQueue(queue.into()));
        }
        if !self.agents.contains_key(agent) {
            return Err(AcdError::UnknownAgent(agent.into()));
        }
        if self.callers.contains_key(call) {
            return Err(AcdError::DuplicateCall(call.into()));
        }
        self.seq += 1;
        let offer = self.next_offer;
        self.next_offer += 1;
        self.callers.insert(
            call.to_owned(),
            Caller {
                id: call.to_owned(),
                queue: queue.to_owned(),
                number: String::new(),
                name: String::new(),
                key: OrderKey {
                    priority: Reverse(0),
                    enqueued_at: since,
                    seq: self.seq,
                },
                kind: Kind::Live,
                state: CallerState::Bridged {
                    agent: agent.to_owned(),
                    leg: leg.to_owned(),
                    since,
                },
                announce: AnnounceState::default(),
                call_leg: Some(call.to_owned()),
                limit_from: since,
            },
        );
        self.legs.insert(
            leg.to_owned(),
            Leg {
                offer,
                agent: agent.to_owned(),
                callee: Callee::Agent,
                answered: false,
            },
        );
        self.offers.insert(
            offer,
            Offer {
                caller: call.to_owned(),
                ringing: Vec::new(),
                taken: Some(leg.to_owned()),
            },
        );
        self.set_activity(now, agent, Activity::InCall, Some(call.to_owned()));
        Ok(())
    }
}

/// A stable offset in [0, 1000) ms derived from the queue's name.
fn bridged_leg(state: &CallerState) -> Option<&str> {
    match state {
        CallerState::Bridged { leg, .. } | CallerState::Bridging { leg, .. } => Some(leg),
        _ => None,
    }
}
