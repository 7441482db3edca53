//! A node read again after a (re)connect or lag: its channel list and what switchdesk stored
//! on each, reconciled with the engine (callers re-adopted in their order, the gone dropped).

use super::*;

impl Switchboard {
    /// Asks the node for every channel and what this service stored on each, off this task.
    pub(super) fn resync(&mut self, node: usize) {
        let Some(connection) = self.connections.get(node).cloned() else {
            return;
        };
        // What the switch's list can vouch for: channels tracked before it is asked for. One
        // that arrives meanwhile is missing from the list without being gone.
        let before: HashSet<String> = self
            .engine
            .tracked_calls()
            .into_iter()
            .chain(self.engine.tracked_legs())
            .filter(|id| self.node_of.get(id) == Some(&node))
            .collect();
        self.resync_baseline.insert(node, before);
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            let listed = match connection.api("show channels as json").await {
                Ok(body) => channel_uuids(&body),
                Err(e) => Err(e.to_string()),
            };
            let uuids = match listed {
                Ok(uuids) => uuids,
                Err(e) => {
                    warn!(node = %connection.node(), "resync failed: {e}");
                    return;
                }
            };
            // Only a UUID goes back into a command.
            let mut dumps = Vec::with_capacity(uuids.len());
            for uuid in uuids {
                match ChannelUuid::parse(&uuid) {
                    Ok(uuid) => dumps.push(Api::Dump(uuid).to_string()),
                    Err(_) => {
                        warn!(node = %connection.node(), "channel list names {uuid:?}, not a UUID")
                    }
                }
            }
            // Every dump asked at once, answered in order: one round trip, not one per
            // channel (a takeover re-adopts the callers that much sooner).
            let asked: Vec<&str> = dumps.iter().map(String::as_str).collect();
            let mut channels = Vec::with_capacity(dumps.len());
            for dump in connection.api_pipelined(&asked).await.into_iter().flatten() {
                if let Some(state) = Event::parse(EventFormat::Json, Bytes::from(dump))
                    .ok()
                    .as_ref()
                    .and_then(channel_state)
                {
                    channels.push(state);
                }
            }
            let _ = inbox.send(Msg::Resynced { node, channels }).await;
        });
    }

    /// Makes the engine agree with what the switch says exists.
    pub(super) fn reconcile(&mut self, now: Millis, node: usize, channels: Vec<ChannelState>) {
        let agents: HashMap<String, Option<String>> = channels
            .iter()
            .map(|c| (c.uuid.clone(), c.agent.clone()))
            .collect();
        let mut seen = HashSet::new();
        let mut adopted = 0;
        for channel in &channels {
            seen.insert(channel.uuid.clone());
            if self.ended_during_resync.contains(&channel.uuid) {
                continue;
            }
            match (channel.leg.as_deref(), &channel.queue) {
                // Kept after the call for the survey: its question's end is read as it comes,
                // or, when it ended while nobody listened, the caller is finished now.
                (None, Some(queue)) if channel.surveyed => {
                    self.node_of.insert(channel.uuid.clone(), node);
                    // (The bridge's variables linger on the channel; a question is asked
                    // only after the bridge, so a caller whose question is over is in park.)
                    if channel.survey_done {
                        let config = self.engine.queue_config(queue);
                        let steps = crate::switch::survey::finish(
                            &channel.uuid,
                            config,
                            None,
                            channel.rating.is_some(),
                        );
                        self.send(&channel.uuid, steps);
                    }
                }
                // Its talk ended while no switchdesk listened, in a queue with a survey: the
                // caller waits in park for the question (queued again it would be served twice).
                (None, Some(queue))
                    if channel.talked
                        && !self.engine.is_tracked(&channel.uuid)
                        && self.engine.queue_config(queue).is_some_and(|q| q.survey) =>
                {
                    self.node_of.insert(channel.uuid.clone(), node);
                    self.ask_survey(&channel.uuid, queue);
                }
                (None, Some(queue)) => {
                    if self.engine.is_tracked(&channel.uuid) {
                        // Its own bridge answered while the events were missed.
                        if let Some(leg) = &channel.bridged_to {
                            self.answered_by_caller(now, &channel.uuid, leg);
                            self.engine.bridged(now, &channel.uuid);
                        }
                        continue;
                    }
                    self.node_of.insert(channel.uuid.clone(), node);
                    if let Some(other) = &channel.bridged_to {
                        let Some(Some(agent)) = agents.get(other) else {
                            continue;
                        };
                        self.node_of.insert(other.clone(), node);
                        match self.engine.adopt_bridged(
                            now,
                            &channel.uuid,
                            queue,
                            agent,
                            other,
                            now,
                        ) {
                            Ok(()) => {
                                adopted += 1;
                                // Its own `bridge` returns to park when the agent hangs up
                                // (`hangup_after_bridge=false`): then it is asked, as if this
                                // process had rung the agent.
                                if self.engine.queue_config(queue).is_some_and(|q| q.survey) {
                                    self.surveyed.insert(channel.uuid.clone(), queue.clone());
                                    self.caller_bridges
                                        .insert(channel.uuid.clone(), other.clone());
                                }
                            }
                            Err(e) => warn!(call = %channel.uuid, "bridged call not adopted: {e}"),
                        }
                    } else if channel.parked {
                        let waiting = Waiting {
                            call: channel.uuid.clone(),
                            queue: queue.clone(),
                            number: channel.number.clone(),
                            name: channel.name.clone(),
                            priority: channel.priority,
                            // A caller who came while no service ran is placed by arrival time.
                            enqueued_at: Some(
                                channel.enqueued_at.unwrap_or(channel.created_ms.max(1)),
                            ),
                            counted: channel.enqueued_at.is_some(),
                            answered: channel.answered,
                            admitted: channel.answered || channel.enqueued_at.is_some(),
                        };
                        match self.admit(now, waiting) {
                            Ok(()) => adopted += 1,
                            Err(e) => {
                                warn!(call = %channel.uuid, "waiting caller not adopted: {e}")
                            }
                        }
                    }
                }
                (Some(_), _) => {
                    self.node_of.insert(channel.uuid.clone(), node);
                    if self.engine.is_ringing_leg(&channel.uuid)
                        && channel.answered
                        && channel.parked
                    {
                        // Its job result was lost with the connection.
                        self.engine.leg_answered(now, &channel.uuid);
                    } else if !self.engine.is_tracked(&channel.uuid) && channel.bridged_to.is_none()
                    {
                        self.send(
                            &channel.uuid,
                            kill(&channel.uuid, HangupCause::NORMAL_CLEARING),
                        );
                    }
                }
                _ => {}
            }
        }
        let before = self.resync_baseline.remove(&node).unwrap_or_default();
        if self.resync_baseline.is_empty() {
            self.ended_during_resync.clear();
        }
        let gone: Vec<String> = self
            .engine
            .tracked_calls()
            .into_iter()
            .chain(self.engine.tracked_legs())
            .filter(|id| {
                self.node_of.get(id) == Some(&node) && before.contains(id) && !seen.contains(id)
            })
            .collect();
        for id in &gone {
            self.engine
                .channel_hung_up(now, id, "NORMAL_TEMPORARY_FAILURE");
            self.node_of.remove(id);
        }
        info!(node = %self.connections[node].node(), channels = channels.len(), adopted, gone = gone.len(), "resync done");
    }
}
