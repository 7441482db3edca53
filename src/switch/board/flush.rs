//! The engine's actions to each node's executor, in order: variables gathered into one
//! command per channel, one agent rung by the caller's own `bridge`, offers withdrawn, hold
//! music again; what must be stored handed to the writer.

use super::*;

impl Switchboard {
    /// Carries out what the engine asked for and publishes what changed. Per channel, the
    /// variables set in one flush (an arriving caller's identification, place and priority)
    /// go in one command where the first was asked for, and a caller answered in this flush
    /// gets its first prompts without a `uuid_break`: nothing plays on a channel switchdesk
    /// only just answered (it always answers before it plays).
    pub(super) fn flush(&mut self) {
        // The commands in order, each for a channel's node; a variables slot is filled last.
        let mut batch: Vec<(String, Vec<Step>)> = Vec::new();
        let mut vars: VarSlots = HashMap::new();
        let mut answered: HashSet<String> = HashSet::new();
        // Where this flush plays something to a caller: dropped if the caller is rung in the
        // same flush (`uuid_break all` would cut it at once).
        let mut playing: HashMap<String, Vec<usize>> = HashMap::new();
        let mut actions = Vec::new();
        while let Some(action) = self.engine.poll_action() {
            actions.push(action);
        }
        // One agent for a live caller: the caller's own `bridge` rings them. Ring-all (several
        // legs for one caller) and callbacks (no caller channel) originate and `uuid_bridge`.
        let mut rings: HashMap<&str, usize> = HashMap::new();
        for action in &actions {
            if let Action::RingAgent { call, .. } = action {
                *rings.entry(call.as_str()).or_default() += 1;
            }
        }
        let by_caller: HashSet<String> = rings
            .into_iter()
            .filter(|(call, n)| *n == 1 && self.engine.is_waiting(call))
            .map(|(call, _)| call.to_owned())
            .collect();
        for action in actions {
            if let Action::DialCustomer { leg, number, .. } = &action {
                if self.barred(clock::now(), leg, number) {
                    continue;
                }
            }
            if let Action::Remember { call, what } = &action {
                let Some((name, value)) = crate::switch::vars::remembered(what) else {
                    continue;
                };
                let slot = vars.entry(call.clone()).or_insert_with(|| {
                    batch.push((call.clone(), Vec::new()));
                    let first = self.arrival_vars.remove(call).unwrap_or_default();
                    (batch.len() - 1, first)
                });
                slot.1.push((name, value));
                continue;
            }
            let queue_name = match &action {
                Action::HoldMusic { queue, .. }
                | Action::Announce { queue, .. }
                | Action::ConfirmCallback { queue, .. } => Some(queue.clone()),
                _ => None,
            };
            match &action {
                // Nothing is played into a caller's ringing bridge.
                Action::HoldMusic { call, .. } | Action::Announce { call, .. }
                    if self.caller_bridges.contains_key(call) =>
                {
                    continue;
                }
                // Made by the caller's own session already.
                Action::Bridge { call, leg } if self.caller_bridges.get(call) == Some(leg) => {
                    continue;
                }
                _ => {}
            }
            let queue = queue_name
                .as_deref()
                .and_then(|q| self.engine.queue_config(q));
            let mut steps = match &action {
                Action::RingAgent { call, .. } if by_caller.contains(call) => {
                    self.ring_by_caller(&action, &mut batch, &mut vars, &mut playing, &answered)
                }
                _ => {
                    let caller = match &action {
                        Action::Announce { call, .. } | Action::ConfirmCallback { call, .. } => {
                            self.identities.get(call)
                        }
                        _ => None,
                    };
                    let language = caller.and_then(|who| who.language.as_ref());
                    let mut steps =
                        render(&action, queue, language, &self.options.transfer_context);
                    if let (Action::Announce { call, .. }, Some(queue)) = (&action, queue) {
                        notice::incident_notice(
                            &mut self.noticed,
                            &self.identities,
                            &self.incident_organizations,
                            call,
                            queue,
                            language,
                            &mut steps,
                        );
                    }
                    steps
                }
            };
            let channel = match &action {
                Action::RingAgent { leg, call, .. } => {
                    let node = self.node_of.get(call).copied().unwrap_or(0);
                    self.node_of.insert(leg.clone(), node);
                    if by_caller.contains(call) {
                        call.clone()
                    } else {
                        leg.clone()
                    }
                }
                Action::DialCustomer { leg, .. } => {
                    let node = self
                        .connections
                        .iter()
                        .position(Connection::is_connected)
                        .unwrap_or(0);
                    self.node_of.insert(leg.clone(), node);
                    leg.clone()
                }
                Action::Answer { call } => {
                    answered.insert(call.clone());
                    call.clone()
                }
                Action::HoldMusic { call, .. } | Action::Announce { call, .. } => {
                    playing.entry(call.clone()).or_default().push(batch.len());
                    if answered.remove(call) {
                        if let Some(Step::Api {
                            command: Api::Break(_),
                            ..
                        }) = steps.first()
                        {
                            steps.remove(0);
                        }
                    }
                    call.clone()
                }
                Action::Remember { call, .. }
                | Action::Bridge { call, .. }
                | Action::ConfirmCallback { call, .. }
                | Action::Transfer { call, .. }
                | Action::Hangup { call, .. } => call.clone(),
                Action::CancelLeg { leg, .. } => {
                    self.withdrawing(leg, &mut steps);
                    leg.clone()
                }
            };
            batch.push((channel, steps));
        }
        self.hold_music_again(&mut batch);
        for (call, (slot, list)) in vars {
            if let (Ok(uuid), Some(entry)) = (ChannelUuid::parse(&call), batch.get_mut(slot)) {
                entry.1.extend(render::set_vars(&uuid, list));
            }
        }
        // A caller admitted without variables from the engine (not queued after all).
        for (call, list) in std::mem::take(&mut self.arrival_vars) {
            if let Ok(uuid) = ChannelUuid::parse(&call) {
                batch.push((call, render::set_vars(&uuid, list).into_iter().collect()));
            }
        }
        for (channel, steps) in batch {
            self.send(&channel, steps);
        }
        while let Some(update) = self.engine.poll_update() {
            match &update {
                Update::AgentChanged { agent, .. } => {
                    if let Some(view) = self.engine.agent(agent) {
                        self.writes.agent(agent, agent_state(view));
                    }
                }
                Update::CallbackQueued {
                    queue,
                    id,
                    number,
                    enqueued_at,
                    attempts,
                    not_before,
                } => {
                    if !self.identities.contains_key(id) {
                        let identity = self.loader.callback_identity(number);
                        self.identities.insert(id.clone(), identity);
                    }
                    self.record(Record::Callback(StoredCallback {
                        id: id.clone(),
                        queue: queue.clone(),
                        number: number.clone(),
                        enqueued_at: *enqueued_at,
                        attempts: *attempts,
                        not_before: *not_before,
                    }));
                }
                Update::CallbackDone { id, reached, .. } => {
                    self.identities.remove(id);
                    self.record(Record::CallbackDone {
                        id: id.clone(),
                        reached: *reached,
                    });
                }
                _ => {}
            }
            self.note_for_standbys(&update);
            let _ = self.updates.send(update);
        }
    }

    /// The steps that ring one agent from the caller's own session: the caller's set-up the
    /// first time (its variables join this flush's `uuid_setvar_multi`), then `uuid_break
    /// all` (left out when the caller was only just answered and nothing played since) and
    /// `bridge`. What this flush was going to play to the caller is dropped.
    pub(super) fn ring_by_caller(
        &mut self,
        action: &Action,
        batch: &mut Vec<(String, Vec<Step>)>,
        vars: &mut VarSlots,
        playing: &mut HashMap<String, Vec<usize>>,
        answered: &HashSet<String>,
    ) -> Vec<Step> {
        let Action::RingAgent {
            leg, call, queue, ..
        } = action
        else {
            return Vec::new();
        };
        let Ok(call_id) = ChannelUuid::parse(call) else {
            return Vec::new();
        };
        let mut played = false;
        for slot in playing.remove(call).unwrap_or_default() {
            if let Some((_, steps)) = batch.get_mut(slot) {
                steps.clear();
                played = true;
            }
        }
        let mut steps = Vec::new();
        if self.bridge_ready.get(call) != Some(queue) {
            if let Some(config) = self.engine.queue_config(queue) {
                let (setup, ringback) = render::caller_bridge_setup(
                    &call_id,
                    &config.prompts.hold_music,
                    config.survey,
                );
                if config.survey {
                    self.surveyed.insert(call.clone(), queue.clone());
                } else {
                    self.surveyed.remove(call);
                }
                let slot = vars.entry(call.clone()).or_insert_with(|| {
                    batch.push((call.clone(), Vec::new()));
                    let first = self.arrival_vars.remove(call).unwrap_or_default();
                    (batch.len() - 1, first)
                });
                slot.1.extend(setup);
                steps.extend(ringback);
                self.bridge_ready.insert(call.clone(), queue.clone());
            }
        }
        let mut ring = render::ring_by_caller(action);
        if answered.contains(call) && !played {
            ring.retain(|step| {
                !matches!(
                    step,
                    Step::Api {
                        command: Api::Break(_),
                        ..
                    }
                )
            });
        }
        steps.extend(ring);
        self.caller_bridges.insert(call.clone(), leg.clone());
        self.silent.remove(call);
        steps
    }

    /// An offer rung by the caller's own `bridge` is withdrawn (`uuid_kill` of the leg): a
    /// caller still waiting must not be hung up if the agent answered meanwhile, so
    /// `hangup_after_bridge` goes off first (and is set again with the next offer).
    pub(super) fn withdrawing(&mut self, leg: &str, steps: &mut Vec<Step>) {
        let Some(call) = self
            .caller_bridges
            .iter()
            .find(|(_, l)| *l == leg)
            .map(|(c, _)| c.clone())
        else {
            return;
        };
        if !self.engine.is_waiting(&call) {
            return;
        }
        if let (Ok(uuid), Ok(name)) = (
            ChannelUuid::parse(&call),
            VarName::parse("hangup_after_bridge"),
        ) {
            steps.insert(0, api(Api::SetVar(uuid, name, VarValue::flag(false))));
            self.bridge_ready.remove(&call);
        }
    }

    /// Callers whose `bridge` returned without a call, and who were not rung again in this
    /// flush, get the hold music of the queue they wait in.
    pub(super) fn hold_music_again(&mut self, batch: &mut Vec<(String, Vec<Step>)>) {
        for call in std::mem::take(&mut self.silent) {
            if self.caller_bridges.contains_key(&call) {
                continue;
            }
            let Some(queue) = self.engine.waiting_in(&call).map(str::to_owned) else {
                continue;
            };
            let music = Action::HoldMusic {
                call: call.clone(),
                queue: queue.clone(),
            };
            let config = self.engine.queue_config(&queue);
            let steps = render(&music, config, None, &self.options.transfer_context);
            batch.push((call, steps));
        }
    }

    /// Hands a channel's commands to its node's executor. A full queue means the node stopped
    /// taking commands: they are dropped and the node is resynced, as after a lag.
    pub(super) fn send(&mut self, channel: &str, steps: Vec<Step>) {
        if steps.is_empty() {
            return;
        }
        let node = self.node_of.get(channel).copied().unwrap_or(0);
        let Some(executor) = self.executors.get(node) else {
            return;
        };
        if let Err(TrySendError::Full(_)) = executor.try_send(steps) {
            let name = self.connections[node].node();
            if self.lagging.insert(node) {
                warn!(node = %name, %channel, "the node's executor is {STEP_BATCHES} batches behind; commands dropped, resyncing");
            }
            lagged(self.options.tasks.metrics(), name, "steps");
        }
    }

    /// Hands a record to the writer (one it has no room for is logged, not stored).
    pub(super) fn record(&self, record: Record) {
        self.writes.record(record);
    }
}
