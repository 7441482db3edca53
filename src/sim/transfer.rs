//! Blind transfer, as `switch_ivr_session_transfer` and `switch_core_standard_on_routing` do
//! it: `max_forwards` counts down, a new caller profile (next index, the new destination,
//! `RDNIS`, `Transfer-Source: <epoch>:<uuid>:bl_xfer:<ext>/<context>/<dialplan>`) with
//! `transfer_history`/`transfer_source`, then the leg leaves what it was doing (a running
//! application ends not ready, its private command fires, park ends with UNPARK and
//! EXECUTE_COMPLETE), CS_ROUTING, and either the matching route's extension in CS_EXECUTE or
//! NO_ROUTE_DESTINATION. A bridged leg leaves its bridge; the partner, left alone, hangs up.

use super::channel::{Callflow, Extension, State, TransferTarget};
use super::events::origin;
use super::hangup::{End, Initiator};
use super::switch::Switch;

/// How a `uuid_transfer` ended, for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transferred {
    Ok,
    /// `max_forwards` ran out: the leg hangs up with EXCHANGE_ROUTING_ERROR (`-ERR`).
    Refused,
    NoSuchChannel,
}

impl Switch {
    /// `uuid_transfer <uuid> [-bleg|-both] <ext> [dialplan] [context]` once parsed.
    pub(crate) fn transfer(
        &mut self,
        uuid: &str,
        flag: Option<&str>,
        extension: &str,
        dialplan: Option<&str>,
        context: Option<&str>,
    ) -> Transferred {
        if !self.live(uuid) {
            return Transferred::NoSuchChannel;
        }
        let partner = self
            .chan(uuid)
            .and_then(|c| c.bridged_to.clone())
            .filter(|p| self.live(p));
        let flag = flag.map(str::to_ascii_lowercase);
        let (leg, both) = match (flag.as_deref(), &partner) {
            (Some("bleg"), Some(p)) => (p.clone(), false),
            (Some("both"), Some(_)) => (uuid.to_owned(), true),
            _ => (uuid.to_owned(), false),
        };
        let other = partner.filter(|p| *p != leg).or_else(|| {
            // `-bleg`: the partner of the leg transferred is the uuid named.
            (leg != uuid).then(|| uuid.to_owned())
        });
        let target = self.transfer_target(&leg, extension, dialplan, context);
        if !self.begin_transfer(&leg, target) {
            return Transferred::Refused;
        }
        let both = both
            && other.as_deref().is_some_and(|o| {
                let target = self.transfer_target(o, extension, dialplan, context);
                self.begin_transfer(o, target)
            });
        if let Some(other) = other.as_deref().filter(|o| self.live(o)) {
            self.leave_bridge(&leg, other);
            if both {
                self.unwind_for_transfer(other);
            } else {
                // The partner of a media bridge is left alone and hangs up.
                self.hangup(other, End::new("NORMAL_CLEARING", Initiator::Switch), None);
            }
        }
        self.unwind_for_transfer(&leg);
        Transferred::Ok
    }

    /// The transferred leg's bridge ends: CHANNEL_UNBRIDGE from the bridge's A leg.
    fn leave_bridge(&mut self, leg: &str, other: &str) {
        let leg_is_a = self.chan(leg).is_some_and(|c| c.bridge_a);
        let (a, b) = if leg_is_a { (leg, other) } else { (other, leg) };
        for (one, two) in [(a, b), (b, a)] {
            if let Some(c) = self.chan_mut(one) {
                c.vars.set("last_bridge_to", two);
            }
        }
        self.bridge_event(a, b, "CHANNEL_UNBRIDGE", origin::UNBRIDGE);
        for one in [a, b] {
            if let Some(c) = self.chan_mut(one) {
                c.bridged_to = None;
                c.vars.unset("bridge_to");
            }
        }
    }

    /// What the api thread does at once: the new profile and variables, the leg marked for
    /// routing. False (and the leg hung up) when `max_forwards` is used up.
    pub(crate) fn begin_transfer(&mut self, uuid: &str, target: TransferTarget) -> bool {
        let Some(c) = self.chan(uuid) else {
            return false;
        };
        let (name, current) = match c.vars.get("max_session_transfers") {
            Some(v) => ("max_session_transfers", Some(v)),
            None => ("max_forwards", c.vars.get("max_forwards")),
        };
        let forwards = current.map_or(70, |v| super::apps::atoi(v) - 1);
        if forwards <= 0 {
            self.hangup(
                uuid,
                End::new("EXCHANGE_ROUTING_ERROR", Initiator::Switch),
                None,
            );
            return false;
        }
        let now = self.micros();
        let epoch = super::clock::epoch_secs(now);
        let flow_id = self.rng.uuid();
        let Some(c) = self.chan_mut(uuid) else {
            return false;
        };
        c.vars.set(name, forwards.to_string());
        let mut old = c.flow.clone();
        old.profile = c.profile.clone();
        old.profile.times.transferred = now;
        old.relative = c.other.clone();
        c.history.push(old.clone());
        let source = format!(
            "{epoch}:{flow_id}:bl_xfer:{}/{}/{}",
            target.extension, target.context, target.dialplan
        );
        let p = &mut c.profile;
        let old_times = p.times;
        p.times = Default::default();
        p.times.profile_created = now;
        p.times.created = old_times.created;
        p.times.answered = old_times.answered;
        p.times.progress = old_times.progress;
        p.times.progress_media = old_times.progress_media;
        p.profile_index = Some(p.profile_index.unwrap_or(1) + 1);
        p.transfer_source = source.clone();
        p.dialplan = target.dialplan.clone();
        p.context = target.context.clone();
        p.rdnis = std::mem::replace(&mut p.destination_number, target.extension.clone());
        c.other = None;
        c.vars.push_array("transfer_history", &source);
        c.vars.set("transfer_source", source);
        c.vars.unset("signal_bond");
        c.flow = Callflow {
            profile: c.profile.clone(),
            unique_id: flow_id,
            clone_of: Some(old.unique_id),
            dialplan: Some(target.dialplan.clone()),
            extension: None,
            relative: None,
        };
        c.pending_apps.clear();
        c.state = State::Routing;
        c.transfer = Some(target);
        true
    }

    /// The leg's thread notices: the running application ends not ready (its private command
    /// with it), then routing starts.
    fn unwind_for_transfer(&mut self, uuid: &str) {
        self.interrupt(uuid);
        self.settle(uuid);
    }

    /// Park ends, CS_ROUTING, and the dialplan hunt for the transfer's destination.
    pub(crate) fn route_transfer(&mut self, uuid: &str) {
        let Some(target) = self.chan_mut(uuid).and_then(|c| c.transfer.take()) else {
            return;
        };
        self.leave_park(uuid);
        if !self.live(uuid) {
            return;
        }
        self.set_state(uuid, State::Routing, State::Routing);
        if let Some(c) = self.chan_mut(uuid) {
            let own = c.uuid.clone();
            c.vars.set("call_uuid", own);
        }
        let Some(route) = self.route_for(&target.extension) else {
            // "No Route, Aborting"
            self.hangup(
                uuid,
                End::new("NO_ROUTE_DESTINATION", Initiator::Switch),
                None,
            );
            return;
        };
        self.skip_seq();
        self.set_state(uuid, State::Execute, State::Execute);
        if let Some(c) = self.chan_mut(uuid) {
            c.hit_dialplan = true;
            c.vars.unset("DP_MATCH");
        }
        if target.context == "public" {
            self.public_prelude(uuid, &target.extension, Some(&route));
        } else if let Some(c) = self.chan_mut(uuid) {
            c.vars.push_array("DP_MATCH", &target.extension);
            c.vars.push_array("DP_MATCH", &target.extension);
            c.flow.extension = Some(Extension {
                name: target.extension.clone(),
                number: target.extension.clone(),
                apps: Self::route_apps(&route.action),
            });
        }
        if self.live(uuid) {
            self.run_route(uuid, route.action);
        }
    }
}
