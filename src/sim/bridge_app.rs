//! The `bridge` application run by a caller's own session (`sendmsg <caller>` execute
//! bridge), as FreeSWITCH 1.10.12 does it: the dial string's leg is placed with the caller's
//! caller id, rings (the caller hears `ringback`), and on answer joins the caller with no
//! state handshake: CHANNEL_BRIDGE on the caller at once. The application ends
//! (CHANNEL_EXECUTE_COMPLETE, Application=bridge) with `originate_disposition` and
//! `DIALSTATUS`: SUCCESS after the talk (the caller then hangs up if `hangup_after_bridge`),
//! or the leg's cause (NO_ANSWER, ALLOTTED_TIMEOUT for `leg_timeout`, USER_BUSY,
//! ORIGINATOR_CANCEL when the leg is killed or the caller hangs up or is transferred;
//! USER_NOT_REGISTERED with no leg at all), after which the caller hangs up with that cause
//! unless `continue_on_fail` is true, and is otherwise back where it was (park).
//! `uuid_break` does not end a ringing bridge (see `apps::break_app`).
//!
//! Where it differs from the probe of a real FreeSWITCH 1.10.12 (no capture covers this):
//! the legs are joined in the answer's own step, where FreeSWITCH's caller thread notices the
//! answer on its next timer tick (0–20 ms); ringback is not played (the simulator carries no
//! audio); commands queued on the caller while it rings wait for the application to return,
//! where FreeSWITCH runs a broadcast inside the ring (switchdesk sends none then).

use std::time::Duration;

use super::events::origin;
use super::hangup::{End, Initiator};
use super::originate::{parse_dial_string, CallerId, Placed};
use super::switch::{Role, Switch, Timer};

/// `DIALSTATUS` for an `originate_disposition`, as mod_dptools writes it.
fn dial_status(disposition: &str) -> &str {
    match disposition {
        "NO_ANSWER" => "NOANSWER",
        "USER_BUSY" => "BUSY",
        "ORIGINATOR_CANCEL" => "CANCEL",
        other => other,
    }
}

impl Switch {
    /// `bridge <dial string>` on `caller`: the leg is placed, or the application ends at once
    /// with the reason it could not be.
    pub(crate) fn bridge_app(&mut self, caller: &str, arg: &str, app_uuid: &str, broadcast: bool) {
        self.execute_event(caller, "bridge", arg, app_uuid);
        self.bridges_run.push((caller.to_owned(), arg.to_owned()));
        self.start_bridge_wait(caller, arg, app_uuid, broadcast);
        let dial = match parse_dial_string(arg) {
            Ok(dial) => dial,
            Err(cause) => return self.finish_bridge_app(caller, cause),
        };
        let var = |name: &str| {
            dial.vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let seconds = |name: &str| {
            var(name)
                .and_then(|t| t.parse::<u64>().ok())
                .filter(|t| *t > 0)
                .map(Duration::from_secs)
        };
        let timeout = match (seconds("leg_timeout"), seconds("originate_timeout")) {
            (Some(t), _) => (t, "ALLOTTED_TIMEOUT"),
            (None, Some(t)) => (t, "NO_ANSWER"),
            (None, None) => (self.originate_timeout, "NO_ANSWER"),
        };
        let profile = self.chan(caller).map(|c| c.profile.clone());
        let caller_id = CallerId {
            name: var("origination_caller_id_name")
                .or_else(|| profile.as_ref().map(|p| p.caller_id_name.clone()))
                .unwrap_or_default(),
            number: var("origination_caller_id_number")
                .or_else(|| profile.as_ref().map(|p| p.caller_id_number.clone()))
                .unwrap_or_default(),
        };
        let mut placed = Placed {
            job: None,
            app: ("bridge".to_owned(), caller.to_owned()),
            for_caller: Some(caller.to_owned()),
        };
        match self.place_leg(&dial, &caller_id, timeout, &mut placed) {
            Ok(leg) => {
                self.set_var(&leg, "signal_bond", caller);
                self.bridge_apps.insert(caller.to_owned(), leg);
            }
            Err(cause) => self.finish_bridge_app(caller, cause),
        }
    }

    /// The caller waits in the application (ringback) until the leg's fate is known.
    fn start_bridge_wait(&mut self, caller: &str, arg: &str, app_uuid: &str, broadcast: bool) {
        let token = self.token();
        let started = self.micros();
        if let Some(c) = self.chan_mut(caller) {
            c.timed = Some(super::channel::Running {
                app: "bridge".to_owned(),
                arg: arg.to_owned(),
                app_uuid: app_uuid.to_owned(),
                file: None,
                started,
                token,
                broadcast,
            });
        }
    }

    /// The leg placed for `caller` answered: both are bridged within the tick.
    pub(crate) fn bridge_app_answered(&mut self, caller: &str, leg: &str) {
        let waiting = self.bridge_apps.get(caller).is_some_and(|l| l == leg);
        if !waiting || !self.live(caller) {
            self.hangup(leg, End::new("ORIGINATOR_CANCEL", Initiator::Switch), None);
            return;
        }
        let now = self.micros();
        for (this, other, a) in [(caller, leg, true), (leg, caller, false)] {
            if let Some(c) = self.chan_mut(this) {
                c.bridged_to = Some(other.to_owned());
                c.bridge_a = a;
                c.profile.times.bridged = now;
                c.vars.set("bridge_to", other);
                c.vars.set("bridge_uuid", other);
                c.vars.set("signal_bond", other);
            }
        }
        self.set_state(
            leg,
            super::channel::State::ExchangeMedia,
            super::channel::State::ExchangeMedia,
        );
        self.bridge_event(caller, leg, "CHANNEL_BRIDGE", origin::BRIDGE);
        self.start_talk(caller, leg);
    }

    /// The caller whose ringing or bridged `bridge` application placed `leg`.
    pub(crate) fn bridge_app_caller(&self, leg: &str) -> Option<String> {
        match self.roles.get(leg) {
            Some(Role::Agent(a)) => a
                .for_caller
                .clone()
                .filter(|c| self.bridge_apps.get(c).is_some_and(|l| l == leg)),
            _ => None,
        }
    }

    /// The bridged leg hung up: it goes alone, the caller is unbridged and its `bridge`
    /// application ends with SUCCESS. Like FreeSWITCH (1.10.12, checked with `uuid_dump`),
    /// the end clears `bridge_to` only: `bridge_uuid`, `signal_bond` and the `Other-Leg-*`
    /// block stay on the caller.
    pub(crate) fn bridge_app_leg_hung_up(&mut self, leg: &str, caller: &str, end: End) {
        self.bridge_apps.remove(caller);
        for this in [leg, caller] {
            if let Some(c) = self.chan_mut(this) {
                c.bridged_to = None;
                c.vars.unset("bridge_to");
            }
        }
        self.set_var(caller, "last_bridge_to", leg);
        self.set_var(caller, "last_bridge_role", "originator");
        self.set_var(caller, "bridge_hangup_cause", end.cause.clone());
        self.set_var(caller, "last_bridge_hangup_cause", end.cause.clone());
        self.hangup(leg, end, None);
        self.bridge_event(caller, leg, "CHANNEL_UNBRIDGE", origin::UNBRIDGE);
        self.finish_bridge_app(caller, "SUCCESS");
    }

    /// A leg that never joined its caller ended with `cause`.
    pub(crate) fn bridge_app_leg_failed(&mut self, caller: &str, cause: &str) {
        self.finish_bridge_app(caller, cause);
    }

    /// The caller's `bridge` application returns with `disposition`: the caller hangs up
    /// (after a bridge with `hangup_after_bridge`, after a failure without
    /// `continue_on_fail`) or carries on where it was.
    pub(crate) fn finish_bridge_app(&mut self, caller: &str, disposition: &str) {
        self.bridge_apps.remove(caller);
        self.set_bridge_result(caller, disposition);
        let var = |s: &Switch, name: &str| {
            s.chan(caller)
                .and_then(|c| c.vars.get(name))
                .is_some_and(|v| v == "true")
        };
        let success = disposition == "SUCCESS";
        let hang_up = if success {
            var(self, "hangup_after_bridge")
        } else {
            !var(self, "continue_on_fail")
        };
        let running = self
            .chan(caller)
            .is_some_and(|c| c.timed.as_ref().is_some_and(|r| r.app == "bridge"));
        if hang_up {
            let cause = if success {
                "NORMAL_CLEARING"
            } else {
                disposition
            };
            let cause = super::hangup::parse_cause(cause).unwrap_or("NORMAL_CLEARING");
            self.hangup(caller, End::new(cause, Initiator::Switch), None);
        } else if running {
            self.stop_and_continue(caller, super::apps::Stop::Done);
        }
    }

    fn set_bridge_result(&mut self, caller: &str, disposition: &str) {
        let Some(c) = self.chan_mut(caller) else {
            return;
        };
        c.vars.set("originate_disposition", disposition);
        c.vars.set("DIALSTATUS", dial_status(disposition));
        if disposition != "SUCCESS" {
            c.vars.set("originate_failed_cause", disposition);
            c.vars.set("last_bridge_hangup_cause", disposition);
        }
    }

    /// The caller's `bridge` stops under it (the caller hangs up or is transferred): a leg
    /// still ringing is cancelled in the same tick (ORIGINATOR_CANCEL).
    pub(crate) fn bridge_app_interrupted(&mut self, caller: &str) {
        let Some(leg) = self.bridge_apps.remove(caller) else {
            return;
        };
        let answered = self.chan(&leg).is_some_and(|c| c.answered);
        if answered {
            self.set_bridge_result(caller, "SUCCESS");
        } else {
            self.set_bridge_result(caller, "ORIGINATOR_CANCEL");
            self.hangup(&leg, End::new("ORIGINATOR_CANCEL", Initiator::Switch), None);
        }
    }

    /// Talk timers of simulated parties, once two legs are bridged.
    pub(crate) fn start_talk(&mut self, a: &str, b: &str) {
        for leg in [a, b] {
            let talk = match self.roles.get(leg) {
                Some(Role::Caller { talk, .. }) => talk.map(|t| (t, true)),
                Some(Role::Agent(agent)) => agent.talk.map(|t| (t, false)),
                _ => None,
            };
            match talk {
                Some((t, true)) => self.schedule(t, Timer::CallerTalkEnd(leg.to_owned())),
                Some((t, false)) => self.schedule(t, Timer::AgentTalkEnd(leg.to_owned())),
                None => {}
            }
        }
    }
}
