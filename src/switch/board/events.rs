//! FreeSWITCH's events as the engine's inputs: a parked caller admitted (identified, checked
//! against the blocklist, refused with its treatment), legs answered, bridged, hung up.

use super::*;

impl Switchboard {
    pub(super) fn on_event(&mut self, now: Millis, node: usize, event: &Event) {
        let Some(input) = interpret(event) else {
            return;
        };
        match input {
            Input::Parked {
                call,
                queue,
                number,
                name,
                answered,
                enqueued_at,
                priority,
            } => {
                if self.engine.is_tracked(&call) {
                    return;
                }
                self.node_of.insert(call.clone(), node);
                let waiting = Waiting {
                    call: call.clone(),
                    queue: queue.clone(),
                    number,
                    name,
                    priority,
                    enqueued_at,
                    counted: enqueued_at.is_some(),
                    answered,
                    admitted: answered || enqueued_at.is_some(),
                };
                match self.admit(now, waiting) {
                    Ok(()) | Err(AcdError::DuplicateCall(_)) => {}
                    Err(e) => {
                        error!(%call, %queue, "caller cannot be queued: {e}; hanging up");
                        self.send(&call, kill(&call, HangupCause::NO_ROUTE_DESTINATION));
                    }
                }
            }
            Input::HungUp { uuid, cause } => {
                if self.engine.is_tracked(&uuid) {
                    self.engine.channel_hung_up(now, &uuid, &cause);
                }
                self.node_of.remove(&uuid);
                // A caller waiting for a callback keeps their place, and who they are.
                if !self.engine.is_tracked(&uuid) {
                    self.identities.remove(&uuid);
                }
                self.refused.remove(&uuid);
                self.noticed.remove(&uuid);
                self.caller_bridges.remove(&uuid);
                self.bridge_ready.remove(&uuid);
                self.silent.remove(&uuid);
                self.surveyed.remove(&uuid);
                if !self.resync_baseline.is_empty() {
                    self.ended_during_resync.insert(uuid);
                }
            }
            Input::Dtmf { call, digit } => self.engine.dtmf(now, &call, digit),
            Input::Bridged { call, leg } => {
                if let Some(leg) = leg {
                    self.answered_by_caller(now, &call, &leg);
                }
                self.engine.bridged(now, &call);
            }
            Input::BridgeEnded {
                call,
                leg,
                disposition,
            } => {
                // Only the application of the current offer: an earlier one ends late when
                // the next offer was made at the leg's hangup.
                let Some(leg) = leg.filter(|l| self.caller_bridges.get(&call) == Some(l)) else {
                    return;
                };
                self.caller_bridges.remove(&call);
                // A leg that never existed (not registered) is failed only by this event.
                if disposition != "SUCCESS" && self.engine.is_tracked(&leg) {
                    self.engine.leg_failed(now, &leg, &disposition);
                }
                // After the talk, a caller of a queue with a survey is still in park: asked.
                if disposition == "SUCCESS" && !self.engine.is_waiting(&call) {
                    if let Some(queue) = self.surveyed.remove(&call) {
                        self.ask_survey(&call, &queue);
                        return;
                    }
                }
                // Back in park, silent: hold music, unless the next offer rings first.
                self.silent.insert(call);
            }
            Input::SurveyEnded {
                call,
                queue,
                rating,
            } => {
                let config = queue.as_deref().and_then(|q| self.engine.queue_config(q));
                let language = self
                    .identities
                    .get(&call)
                    .and_then(|who| who.language.as_ref());
                info!(%call, rated = rating.is_some(), "survey over");
                let steps =
                    crate::switch::survey::finish(&call, config, language, rating.is_some());
                self.send(&call, steps);
            }
            // `originate` sets CS_EXECUTE (for `&park()`) only once the leg answered and
            // `switch_ivr_originate` returned; the job's `+OK` is written after that, by
            // another thread than the leg's, so either event can reach us first (capture 02
            // has the job first, the park three events later). Either one means the leg is
            // answered and out of the originate: `uuid_bridge` is safe from then on (before
            // it, the originate would take the bridged leg for lost, or set CS_EXECUTE over
            // the bridge's CS_HIBERNATE).
            Input::LegParked { leg } => {
                if self.engine.awaits_answer(&leg) {
                    self.engine.leg_answered(now, &leg);
                }
            }
        }
    }

    /// The question after the call, in the caller's language (else the queue's).
    pub(super) fn ask_survey(&mut self, call: &str, queue: &str) {
        let Some(config) = self.engine.queue_config(queue) else {
            return;
        };
        let language = self
            .identities
            .get(call)
            .and_then(|who| who.language.as_ref());
        let steps = crate::switch::survey::ask(call, config, language);
        self.send(call, steps);
    }

    /// The caller's own `bridge` joined `leg`: the engine hears the agent answered (and the
    /// bridge follows at once), without any command.
    pub(super) fn answered_by_caller(&mut self, now: Millis, call: &str, leg: &str) {
        if self.caller_bridges.get(call).is_some_and(|l| l == leg) && self.engine.awaits_answer(leg)
        {
            self.engine.leg_answered(now, leg);
        }
    }

    /// A caller the switch shows waiting: refused if blocked (never answered, never queued),
    /// else identified, marked for the CDR and handed to the engine. A caller already
    /// admitted by an earlier run (answered, or carrying its place) is not checked again.
    pub(super) fn admit(&mut self, now: Millis, waiting: Waiting) -> Result<(), AcdError> {
        if self.refused.contains(&waiting.call) {
            return Ok(());
        }
        // Read once: the blocklist and the phone book both match on E.164.
        // Filed as the phone book files numbers: E.164, or the extension an internal caller is.
        let e164 = self.options.numbering.key(&waiting.number);
        let shown = crate::switch::identify::shown_name(&waiting.name);
        if self.recent.len() == RECENT_CALLERS {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentCaller {
            call: waiting.call.clone(),
            number: waiting.number.clone(),
            name: waiting.name.clone(),
        });
        if !waiting.admitted {
            let number = e164.as_deref().unwrap_or(&waiting.number);
            let blocked =
                self.options
                    .blocklist
                    .check(Direction::Inbound, number, &waiting.name, now);
            if let Some(entry) = blocked {
                self.refuse(now, &waiting, number, &entry);
                self.refused.insert(waiting.call);
                return Ok(());
            }
        }
        let identity = self.options.identity.identify(e164.as_deref(), &shown);
        let mut vars = render::channel_variables(identity.channel_variables());
        if !waiting.admitted {
            vars.extend(render::channel_variables(vec![(
                "playback_terminators",
                "none".to_owned(),
            )]));
        }
        self.arrival_vars.insert(waiting.call.clone(), vars);
        let arrival = CallerArrival {
            call: waiting.call.clone(),
            queue: waiting.queue,
            name: identity.label.clone().unwrap_or(shown),
            number: waiting.number,
            priority: waiting.priority.unwrap_or(identity.priority),
            enqueued_at: waiting.enqueued_at,
            counted: waiting.counted,
            answered: waiting.answered,
        };
        let call = waiting.call.clone();
        self.identities.insert(waiting.call, identity);
        let arrived = self.engine.caller_arrived(now, arrival);
        if arrived.is_err() {
            self.arrival_vars.remove(&call);
        }
        arrived
    }

    /// Gives a blocked caller the entry's treatment, none of which answers the call, and
    /// audits the attempt.
    pub(super) fn refuse(&mut self, now: Millis, waiting: &Waiting, e164: &str, entry: &Entry) {
        let call = &waiting.call;
        info!(%call, number = %e164, entry = entry.id, action = entry.treatment.label(), "blocked caller refused");
        if let Ok(uuid) = ChannelUuid::parse(call) {
            let steps = render::treatment(&uuid, &entry.treatment, &self.options.transfer_context);
            self.send(call, steps);
        }
        self.audit_block(now, entry, Direction::Inbound, e164, &waiting.name, call);
    }

    pub(super) fn audit_block(
        &self,
        now: Millis,
        entry: &Entry,
        direction: Direction,
        number: &str,
        name: &str,
        call: &str,
    ) {
        let attempt = BlockedAttempt {
            id: 0,
            entry_id: Some(entry.id),
            direction: direction.as_str().to_owned(),
            number: number.to_owned(),
            name: name.to_owned(),
            call_uuid: call.to_owned(),
            action: match direction {
                Direction::Outbound => "not_dialled".to_owned(),
                _ => entry.treatment.label().to_owned(),
            },
            at: now,
        };
        self.record(Record::BlockHit(entry.id, attempt));
    }

    /// A callback to a blocked destination is not dialled: the engine hears the leg failed
    /// as barred, and gives the callback up.
    pub(super) fn barred(&mut self, now: Millis, leg: &str, number: &str) -> bool {
        let e164 = self
            .options
            .numbering
            .normalize(number)
            .unwrap_or_else(|_| number.to_owned());
        let Some(entry) = self
            .options
            .blocklist
            .check(Direction::Outbound, &e164, "", now)
        else {
            return false;
        };
        warn!(%leg, number = %e164, entry = entry.id, "callback to a blocked destination not dialled");
        self.audit_block(now, &entry, Direction::Outbound, &e164, "", leg);
        self.engine.leg_failed(now, leg, crate::acd::BARRED);
        true
    }
}
