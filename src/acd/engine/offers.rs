//! Offers: ringing agents for a caller, and what becomes of each leg the engine started:
//! answered, failed, hung up, or withdrawn because the caller or the agent went away.
//!
//! Invariants: a caller has at most one offer (`CallerState::Offered`); every leg belongs to
//! one offer; the first agent leg to answer takes the offer and the others lose the race; an
//! offer with nothing ringing and nothing taken closes, and its caller waits again; each
//! offer has a safety-net timer in case the switch never reports back.

use super::{Activity, Callee, CallerState, Engine, Kind, Leg, Offer, Timer, BARRED};
use crate::acd::output::{Action, Departure};
use crate::clock::{self, Millis};

impl Engine {
    pub(super) fn make_offer(&mut self, now: Millis, caller_id: &str, agents: Vec<String>) {
        let Some(c) = self.callers.get(caller_id).cloned() else {
            return;
        };
        let Some(config) = self.queues.get(&c.queue).map(|q| q.config.clone()) else {
            return;
        };
        let offer = self.next_offer;
        self.next_offer += 1;
        let mut ringing = Vec::with_capacity(agents.len());
        let (caller_number, caller_name) = match c.kind {
            Kind::Live => (c.number.clone(), c.name.clone()),
            Kind::Callback { .. } => (c.number.clone(), format!("Callback {}", c.number)),
        };
        for agent in agents {
            let leg = self.new_uuid();
            let Some(endpoint) = self.agents.get(&agent).map(|a| a.config.endpoint.clone()) else {
                continue;
            };
            self.legs.insert(
                leg.clone(),
                Leg {
                    offer,
                    agent: agent.clone(),
                    callee: Callee::Agent,
                    answered: false,
                },
            );
            self.set_activity(now, &agent, Activity::Ringing, Some(caller_id.to_owned()));
            self.actions.push_back(Action::RingAgent {
                leg: leg.clone(),
                call: caller_id.to_owned(),
                agent: agent.clone(),
                endpoint,
                queue: c.queue.clone(),
                timeout_secs: config.ring_timeout_secs,
                caller_number: caller_number.clone(),
                caller_name: caller_name.clone(),
            });
            ringing.push(leg);
        }
        if let Some(q) = self.queues.get_mut(&c.queue) {
            if let Some(last) = ringing.last().and_then(|l| self.legs.get(l)) {
                if let Some(i) = q.members.iter().position(|(_, _, a)| *a == last.agent) {
                    q.rr_next = i + 1;
                }
            }
        }
        self.offers.insert(
            offer,
            Offer {
                caller: caller_id.to_owned(),
                ringing,
                taken: None,
            },
        );
        if let Some(c) = self.callers.get_mut(caller_id) {
            c.state = CallerState::Offered(offer);
        }
        // FreeSWITCH ends the ring itself (originate_timeout); this is the safety net.
        self.timers.push(
            now + clock::secs(config.ring_timeout_secs + 5),
            Timer::Offer(offer),
        );
    }

    /// The originate of `leg` succeeded: it answered and is parked (`+OK <uuid>`).
    pub fn leg_answered(&mut self, now: Millis, leg_id: &str) {
        let Some(leg) = self.legs.get(leg_id).cloned() else {
            return;
        };
        let Some(offer) = self.offers.get(&leg.offer).cloned() else {
            return;
        };
        match leg.callee {
            Callee::Agent => {
                let valid = offer.taken.is_none()
                    && self
                        .callers
                        .get(&offer.caller)
                        .is_some_and(|c| c.state == CallerState::Offered(leg.offer));
                if !valid {
                    self.drop_leg(leg_id, "LOSE_RACE");
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    self.dispatch_agent(now, &leg.agent);
                    self.settle(now);
                    return;
                }
                // Ring-all: the others lose the race.
                for other in offer.ringing.iter().filter(|l| *l != leg_id) {
                    if let Some(lost) = self.legs.get(other).cloned() {
                        self.drop_leg(other, "LOSE_RACE");
                        self.set_activity(now, &lost.agent, Activity::Idle, None);
                    }
                }
                if let Some(o) = self.offers.get_mut(&leg.offer) {
                    o.taken = Some(leg_id.to_owned());
                    o.ringing.clear();
                }
                if let Some(agent) = self.agents.get_mut(&leg.agent) {
                    agent.missed = 0;
                }
                self.set_activity(
                    now,
                    &leg.agent,
                    Activity::InCall,
                    Some(offer.caller.clone()),
                );
                let caller = &offer.caller;
                let is_callback = matches!(
                    self.callers.get(caller).map(|c| &c.kind),
                    Some(Kind::Callback { .. })
                );
                if let Some(c) = self.callers.get_mut(caller) {
                    c.state = CallerState::Bridging {
                        agent: leg.agent.clone(),
                        leg: leg_id.to_owned(),
                    };
                }
                self.remove_from_order(caller);
                self.depart_update(
                    caller,
                    Departure::Answered {
                        agent: leg.agent.clone(),
                    },
                );
                if is_callback {
                    self.dial_customer(now, leg.offer, caller);
                } else {
                    self.actions.push_back(Action::Bridge {
                        call: caller.clone(),
                        leg: leg_id.to_owned(),
                    });
                }
            }
            Callee::Customer => {
                if let Some(l) = self.legs.get_mut(leg_id) {
                    l.answered = true;
                }
                if let Some(agent_leg) = offer.taken.clone() {
                    self.actions.push_back(Action::Bridge {
                        call: leg_id.to_owned(),
                        leg: agent_leg,
                    });
                }
            }
        }
        for other in self.other_queues_of(&leg.agent) {
            self.dispatch(now, &other);
        }
        self.settle(now);
    }

    /// The originate of `leg` failed (`-ERR <CAUSE>`), or the leg hung up (before or after
    /// answering: CHANNEL_HANGUP_COMPLETE).
    pub fn leg_failed(&mut self, now: Millis, leg_id: &str, cause: &str) {
        let Some(leg) = self.legs.get(leg_id).cloned() else {
            return;
        };
        self.leg_ended(now, leg_id, &leg, cause);
        self.settle(now);
    }

    pub(super) fn leg_ended(&mut self, now: Millis, leg_id: &str, leg: &Leg, cause: &str) {
        self.legs.remove(leg_id);
        let Some(offer) = self.offers.get(&leg.offer).cloned() else {
            return;
        };
        let caller_id = offer.caller.clone();
        let caller = self.callers.get(&caller_id).cloned();
        let queue = caller.as_ref().map(|c| c.queue.clone()).unwrap_or_default();
        match leg.callee {
            Callee::Agent if offer.taken.as_deref() != Some(leg_id) => {
                // Still ringing: busy, no answer, rejected, unreachable.
                if let Some(o) = self.offers.get_mut(&leg.offer) {
                    o.ringing.retain(|l| l != leg_id);
                }
                self.penalize(now, &leg.agent, &queue, cause);
                self.set_activity(now, &leg.agent, Activity::Idle, None);
                self.close_offer_if_unanswered(now, leg.offer);
            }
            Callee::Agent => match caller.map(|c| c.state) {
                Some(CallerState::Bridged { agent, since, .. }) => {
                    // FreeSWITCH ends the other side of the bridge itself.
                    self.end_call(now, &caller_id, &agent, since);
                }
                Some(CallerState::Bridging { .. }) => {
                    // The agent hung up between answering and the bridge: back in line.
                    self.offers.remove(&leg.offer);
                    self.penalize(now, &leg.agent, &queue, "CALL_REJECTED");
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    if let Some(customer) = self
                        .callers
                        .get(&caller_id)
                        .and_then(|c| c.call_leg.clone())
                        .filter(|l| *l != caller_id)
                    {
                        self.drop_leg(&customer, "NORMAL_CLEARING");
                    }
                    // A callback has no channel to hold: the attempt failed, as when the
                    // bridge is refused (see `bridge_failed`).
                    if self
                        .callers
                        .get(&caller_id)
                        .is_some_and(|c| c.kind == Kind::Live)
                    {
                        self.requeue(now, &caller_id);
                    } else {
                        self.callback_attempt_failed(now, &caller_id, false);
                    }
                }
                _ => {
                    self.offers.remove(&leg.offer);
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    self.dispatch_agent(now, &leg.agent);
                }
            },
            Callee::Customer => match caller.map(|c| c.state) {
                Some(CallerState::Bridged { agent, since, .. }) => {
                    self.end_call(now, &caller_id, &agent, since)
                }
                _ => {
                    // The customer could not be reached: free the agent, try again later.
                    if let Some(agent_leg) = offer.taken.clone() {
                        self.drop_leg(&agent_leg, "NORMAL_CLEARING");
                    }
                    self.offers.remove(&leg.offer);
                    self.set_activity(now, &leg.agent, Activity::Idle, None);
                    // A barred destination stays barred: trying again later is pointless.
                    let last = cause == BARRED;
                    self.callback_attempt_failed(now, &caller_id, last);
                    self.dispatch_agent(now, &leg.agent);
                }
            },
        }
    }

    fn close_offer_if_unanswered(&mut self, now: Millis, offer: u64) {
        let Some(o) = self.offers.get(&offer) else {
            return;
        };
        if !o.ringing.is_empty() || o.taken.is_some() {
            return;
        }
        let caller = o.caller.clone();
        self.offers.remove(&offer);
        let queue = match self.callers.get_mut(&caller) {
            Some(c) if c.state == CallerState::Offered(offer) => {
                c.state = CallerState::Waiting;
                c.queue.clone()
            }
            _ => return,
        };
        self.dispatch(now, &queue);
    }

    /// Cancels every leg ringing for this caller and forgets the caller's offer.
    pub(super) fn withdraw_offer_only(&mut self, now: Millis, id: &str) {
        let Some(CallerState::Offered(offer)) = self.callers.get(id).map(|c| c.state.clone())
        else {
            return;
        };
        if let Some(o) = self.offers.remove(&offer) {
            for leg in o.ringing {
                if let Some(l) = self.legs.get(&leg).cloned() {
                    self.drop_leg(&leg, "ORIGINATOR_CANCEL");
                    self.set_activity(now, &l.agent, Activity::Idle, None);
                    self.dispatch_agent(now, &l.agent);
                }
            }
        }
    }

    /// The caller is leaving: cancel whatever was started for them.
    pub(super) fn withdraw(&mut self, now: Millis, id: &str, cause: &str) {
        let Some(state) = self.callers.get(id).map(|c| c.state.clone()) else {
            return;
        };
        match state {
            CallerState::Offered(_) => self.withdraw_offer_only(now, id),
            CallerState::Bridging { agent, leg } => {
                if let Some(l) = self.legs.get(&leg).cloned() {
                    self.offers.remove(&l.offer);
                }
                self.drop_leg(&leg, cause);
                self.set_activity(now, &agent, Activity::Idle, None);
                self.dispatch_agent(now, &agent);
            }
            _ => {}
        }
    }

    /// An agent stops being available while their phone rings.
    pub(super) fn withdraw_agent_offer(&mut self, now: Millis, agent: &str, cause: &str) {
        let legs: Vec<(String, u64)> = self
            .legs
            .iter()
            .filter(|(_, l)| l.agent == agent && l.callee == Callee::Agent)
            .map(|(id, l)| (id.clone(), l.offer))
            .collect();
        for (leg, offer) in legs {
            if self.offers.get(&offer).is_some_and(|o| o.taken.is_none()) {
                self.drop_leg(&leg, cause);
                if let Some(o) = self.offers.get_mut(&offer) {
                    o.ringing.retain(|l| *l != leg);
                }
                self.set_activity(now, agent, Activity::Idle, None);
                self.close_offer_if_unanswered(now, offer);
            }
        }
        self.settle(now);
    }

    pub(super) fn drop_leg(&mut self, leg: &str, cause: &str) {
        self.legs.remove(leg);
        self.actions.push_back(Action::CancelLeg {
            leg: leg.to_owned(),
            cause: cause.to_owned(),
        });
    }
}
