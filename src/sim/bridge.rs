//! `uuid_bridge <a> <b>` as capture 02 step 3 shows it: both legs leave park (UNPARK,
//! EXECUTE_COMPLETE park), pass CS_HIBERNATE → CS_RESET → CS_SOFT_EXECUTE, get a new caller
//! profile (index 2, `uuid_br` transfer source, the other leg as originator/originatee), run
//! `uuid_bridge`, and only the A leg fires CHANNEL_BRIDGE; CALL_UPDATE follows on both. Also
//! starts talk timers of simulated parties. Tear-down lives in `hangup`.

use super::channel::{Callflow, OtherType, State};
use super::events::{origin, Origin, Vars};
use super::profile::Direction;
use super::switch::Switch;

impl Switch {
    /// False (`-ERR Invalid uuid`) unless both legs are live, distinct and not yet bridged.
    pub(crate) fn bridge(&mut self, a: &str, b: &str) -> bool {
        let free =
            |s: &Switch, u: &str| s.chan(u).is_some_and(|c| !c.down && c.bridged_to.is_none());
        if a == b || !free(self, a) || !free(self, b) {
            return false;
        }
        // switch_ivr_uuid_bridge stops any broadcast and sets CF_TRANSFER: an application
        // running in park finds the leg no longer ready (`PLAYBACK ERROR`). Private commands
        // still queued stay queued; they run once the bridge is up, as the bridge loop parses
        // them.
        for leg in [a, b] {
            if let Some(c) = self.chan_mut(leg) {
                c.redirecting = true;
                c.transfer = None;
            }
            self.interrupt(leg);
        }
        self.step_profiles(a, b);
        for leg in [b, a] {
            if let Some(c) = self.chan_mut(leg) {
                c.state = State::Hibernate;
            }
            self.leave_park(leg);
            self.set_state(leg, State::Hibernate, State::Hibernate);
            self.set_state(leg, State::Reset, State::Reset);
        }
        self.set_state(a, State::SoftExecute, State::SoftExecute);
        self.set_state(b, State::SoftExecute, State::SoftExecute);
        let now = self.micros();
        for (leg, other, origin) in [(a, b, origin::UUID_BRIDGE_A), (b, a, origin::UUID_BRIDGE_B)] {
            let after = [
                ("Application", "uuid_bridge".to_owned()),
                ("Application-Data", other.to_owned()),
            ];
            self.fire(leg, "CHANNEL_EXECUTE", origin, Vars::With, &[], &after);
            if let Some(c) = self.chan_mut(leg) {
                c.last_execute = ("uuid_bridge".into(), other.to_owned());
                c.redirecting = false;
                c.bridged_to = Some(other.to_owned());
                c.bridge_a = leg == a;
                c.profile.times.bridged = now;
                c.vars.set("bridge_to", other);
                c.vars.set("bridge_uuid", other);
                c.vars.set("signal_bond", other);
            }
        }
        self.bridge_event(a, b, "CHANNEL_BRIDGE", origin::BRIDGE);
        self.set_state(b, State::ExchangeMedia, State::ExchangeMedia);
        for (leg, other) in [(a, b), (b, a)] {
            let (name, number) = self
                .chan(other)
                .map(|c| {
                    (
                        c.profile.caller_id_name.clone(),
                        c.profile.caller_id_number.clone(),
                    )
                })
                .unwrap_or_default();
            let (name, number) = if leg == a {
                // The agent leg presents its originate caller id (flipped to callee on answer).
                self.chan(other)
                    .map(|c| {
                        (
                            c.profile.orig_caller_id_name.clone(),
                            c.profile.orig_caller_id_number.clone(),
                        )
                    })
                    .unwrap_or((name, number))
            } else {
                (name, number)
            };
            if let Some(c) = self.chan_mut(leg) {
                c.vars.set("last_sent_callee_id_name", name.clone());
                c.vars.set("last_sent_callee_id_number", number.clone());
            }
            let before = [
                ("Direction", "SEND".to_owned()),
                ("Sent-Callee-ID-Name", name),
                ("Sent-Callee-ID-Number", number),
                ("Bridged-To", other.to_owned()),
            ];
            self.fire(
                leg,
                "CALL_UPDATE",
                origin::CALL_UPDATE_SOFIA,
                Vars::With,
                &before,
                &[],
            );
        }
        self.start_talk(a, b);
        for leg in [a, b] {
            self.pump(leg);
        }
        true
    }

    /// CHANNEL_BRIDGE or CHANNEL_UNBRIDGE: fired on the A leg only, naming both legs.
    pub(crate) fn bridge_event(&mut self, a: &str, b: &str, name: &str, origin: Origin) {
        let before = [
            ("Bridge-A-Unique-ID", a.to_owned()),
            ("Bridge-B-Unique-ID", b.to_owned()),
        ];
        self.fire(a, name, origin, Vars::With, &before, &[]);
    }

    /// `switch_channel_step_caller_profile` for a uuid_bridge transfer on both legs.
    fn step_profiles(&mut self, a: &str, b: &str) {
        let now = self.micros();
        let epoch = super::clock::epoch_secs(now);
        let before_a = self.chan(a).map(|c| c.profile.clone());
        let flow_ids = [self.rng.uuid(), self.rng.uuid()];
        let names = [
            self.chan(b).map(|c| c.name.clone()),
            self.chan(a).map(|c| c.name.clone()),
        ];
        for (i, (leg, other)) in [(a, b), (b, a)].into_iter().enumerate() {
            let other_name = names[i].clone().unwrap_or_default();
            let Some(c) = self.chan_mut(leg) else {
                continue;
            };
            let mut old = c.flow.clone();
            old.profile = c.profile.clone();
            old.profile.times.transferred = now;
            let history_relative = c.other.clone();
            old.relative = history_relative;
            c.history.push(old.clone());
            let source = format!("{epoch}:{}:uuid_br:{other}", flow_ids[i]);
            c.profile.profile_index = Some(c.profile.profile_index.unwrap_or(1) + 1);
            c.profile.times.profile_created = now;
            c.profile.transfer_source = source.clone();
            c.vars.set(
                "original_destination_number",
                c.profile.destination_number.clone(),
            );
            c.vars
                .set("original_caller_id_name", c.profile.caller_id_name.clone());
            c.vars.set(
                "original_caller_id_number",
                c.profile.caller_id_number.clone(),
            );
            c.vars.set("transfer_history", source.clone());
            c.vars.set("transfer_source", source);
            c.vars.set("bridge_channel", other_name);
            // A transfer ends the originated leg's own extension.
            if c.direction == Direction::Outbound {
                c.hit_dialplan = false;
            }
            c.flow = Callflow {
                profile: c.profile.clone(),
                unique_id: flow_ids[i].clone(),
                clone_of: Some(old.unique_id),
                dialplan: old.dialplan,
                extension: old.extension.map(|mut e| {
                    e.apps.clear();
                    e
                }),
                relative: None,
            };
        }
        // B sees A as it was (no times: the originator copy carries none).
        if let Some(mut a_view) = before_a {
            a_view.profile_index = None;
            a_view.times = Default::default();
            let (name, number) = (
                a_view.caller_id_name.clone(),
                a_view.caller_id_number.clone(),
            );
            if let Some(c) = self.chan_mut(b) {
                c.other = Some((OtherType::Originator, a_view));
                c.profile.caller_id_name = name;
                c.profile.caller_id_number = number;
            }
        }
        // A sees B's stepped profile as the originatee; A's callee becomes B's caller id.
        let b_view = self.chan(b).map(|c| {
            let mut p = c.profile.clone();
            p.profile_index = None;
            p.transfer_source.clear();
            p.logical_direction = Direction::Inbound;
            if let Some((_, a_view)) = &c.other {
                // Before B took A's caller id.
                p.caller_id_name = c.history.last().map_or(a_view.caller_id_name.clone(), |h| {
                    h.profile.caller_id_name.clone()
                });
                p.caller_id_number = c
                    .history
                    .last()
                    .map_or(a_view.caller_id_number.clone(), |h| {
                        h.profile.caller_id_number.clone()
                    });
            }
            p
        });
        if let Some(b_view) = b_view {
            let (callee_name, callee_number) = (
                b_view.orig_caller_id_name.clone(),
                b_view.orig_caller_id_number.clone(),
            );
            if let Some(c) = self.chan_mut(a) {
                c.other = Some((OtherType::Originatee, b_view));
                c.profile.callee_id_name = callee_name;
                c.profile.callee_id_number = callee_number;
            }
        }
        for leg in [a, b] {
            if let Some(c) = self.chan_mut(leg) {
                c.flow.profile = c.profile.clone();
                c.flow.relative = c.other.clone();
            }
        }
    }
}
