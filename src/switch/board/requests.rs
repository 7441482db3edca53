//! The API's requests: views answered from the engine, agents' states, callers moved, the
//! admin's settings writes (one in flight, the rest in order, each in force once stored),
//! and a supervisor's eavesdrop.

use super::*;

impl Switchboard {
    pub(super) fn answer(&mut self, now: Millis, request: Request) {
        match request {
            Request::Queues(reply) => {
                let _ = reply.send((self.engine.queues(now), ViewSource::Own));
            }
            Request::Identities(reply) => {
                let _ = reply.send(self.identities.clone());
            }
            Request::Caller(call, reply) => {
                let found = self.recent.iter().rev().find(|c| c.call == call).cloned();
                let _ = reply.send(found);
            }
            Request::Eject(call, reply) => {
                let waiting = self.engine.is_waiting(&call);
                if waiting {
                    self.send(&call, kill(&call, HangupCause::CALL_REJECTED));
                }
                let _ = reply.send(waiting);
            }
            Request::Agent(name, reply) => {
                let _ = reply.send(self.engine.agent(&name));
            }
            Request::AgentStatus(name, status, reply) => {
                let _ = reply.send(
                    self.engine
                        .set_agent_status(now, &name, status)
                        .map_err(BoardError::from),
                );
            }
            Request::SaveQueue(config, reply) => self.admin(AdminWrite::SaveQueue(config), reply),
            Request::DeleteQueue(name, reply) => self.admin(AdminWrite::DeleteQueue(name), reply),
            Request::SaveAgent(config, reply) => self.admin(AdminWrite::SaveAgent(config), reply),
            Request::DeleteAgent(name, reply) => self.admin(AdminWrite::DeleteAgent(name), reply),
            Request::MoveCaller(call, queue, reply) => {
                let result = self.engine.move_caller(now, &call, &queue);
                if result.is_ok() {
                    info!(%call, %queue, "caller moved by a supervisor");
                }
                let _ = reply.send(result.map_err(BoardError::from));
            }
            Request::ToFront(call, reply) => {
                let _ = reply.send(self.engine.to_front(now, &call).map_err(BoardError::from));
            }
            Request::CallBack(ask, reply) => {
                // A fresh id, which no channel of the switch ever had.
                let id = uuid::Uuid::new_v4().to_string();
                let placed = self.engine.call_back_from(
                    now,
                    &ask.queue,
                    &ask.number,
                    &id,
                    ask.enqueued_at,
                    ask.create,
                );
                if let Ok(Some(placed)) = &placed {
                    info!(queue = %ask.queue, ?placed, "a support line calls a caller back");
                }
                let _ = reply.send(placed.map_err(BoardError::from));
            }
            Request::Eavesdrop(ask, reply) => self.eavesdrop(ask, reply),
        }
    }
}

/// Settings changes: checked against the engine, stored by the writer one at a time, in the
/// order they came, and answered once stored. A save takes effect when its row committed; a
/// delete takes effect when asked (nobody is queued to a queue being deleted, an agent being
/// deleted is logged out) and is undone if it does not commit. One at a time, each change is
/// checked against the engine as every earlier one left it: two saves of a queue land in
/// order, and a delete asked while a save of the same queue is stored is checked after it.
impl Switchboard {
    pub(super) fn admin(&mut self, write: AdminWrite, reply: Reply) {
        if self.admin_waiting.len() >= ADMIN_WAITING {
            let _ = reply.send(Err(BoardError::Busy));
            return;
        }
        self.admin_waiting.push_back((write, reply));
        self.next_admin_write();
    }

    /// Hands the next valid waiting change to the writer, unless one is in flight.
    pub(super) fn next_admin_write(&mut self) {
        while self.admin_in_flight.is_none() {
            let Some((write, reply)) = self.admin_waiting.pop_front() else {
                return;
            };
            match self.prepare(clock::now(), &write) {
                Ok(undo) => {
                    self.tickets += 1;
                    self.writes.admin(self.tickets, write.clone());
                    self.admin_in_flight = Some(InFlight {
                        ticket: self.tickets,
                        write,
                        reply,
                        undo,
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }

    /// Checks a change against the engine; a delete is carried out here (what it took out is
    /// returned, to put back should the delete not commit).
    pub(super) fn prepare(
        &mut self,
        now: Millis,
        write: &AdminWrite,
    ) -> Result<Option<Undo>, BoardError> {
        match write {
            AdminWrite::SaveQueue(config) => {
                let mut problems = config.problems();
                problems.extend(self.engine.queue_reference_problems(config));
                if !problems.is_empty() {
                    return Err(AcdError::Invalid(problems).into());
                }
                Ok(None)
            }
            AdminWrite::SaveAgent(config) => {
                let mut problems = config.problems();
                for m in &config.queues {
                    if self.engine.queue_config(&m.queue).is_none() {
                        problems.push(format!("no queue named {:?}", m.queue));
                    }
                }
                if !problems.is_empty() {
                    return Err(AcdError::Invalid(problems).into());
                }
                Ok(None)
            }
            AdminWrite::DeleteQueue(name) => {
                let config = self.engine.queue_config(name).cloned().map(Box::new);
                self.engine.remove_queue(name)?;
                Ok(config.map(Undo::Queue))
            }
            AdminWrite::DeleteAgent(name) => {
                let kept = self
                    .engine
                    .agent_config(name)
                    .cloned()
                    .zip(self.engine.agent(name));
                self.engine.remove_agent(now, name)?;
                Ok(kept.map(|(config, view)| Undo::Agent(config, agent_state(view))))
            }
        }
    }

    /// The writer's outcome for the change in flight: applied (or undone) and answered.
    pub(super) fn stored(&mut self, now: Millis, ticket: u64, result: Result<(), StoreError>) {
        // A restarted writer may report a change again.
        let Some(in_flight) = self
            .admin_in_flight
            .take_if(|in_flight| in_flight.ticket == ticket)
        else {
            return;
        };
        let answer = match result {
            Ok(()) => match in_flight.write {
                AdminWrite::SaveQueue(config) => self.engine.set_queue(now, *config),
                AdminWrite::SaveAgent(config) => self.engine.set_agent(now, config),
                AdminWrite::DeleteQueue(_) | AdminWrite::DeleteAgent(_) => Ok(()),
            }
            .map_err(|e| {
                error!("stored settings not taken by the engine: {e}");
                BoardError::from(e)
            }),
            Err(e) => {
                match in_flight.undo {
                    Some(Undo::Queue(config)) => {
                        if let Err(e) = self.engine.set_queue(now, *config) {
                            error!("queue not put back after its delete failed: {e}");
                        }
                    }
                    Some(Undo::Agent(config, state)) => {
                        let name = config.name.clone();
                        let restored = self.engine.set_agent(now, config).and_then(|()| {
                            self.engine.restore_agent(
                                &name,
                                state.status,
                                state.calls,
                                state.talk_ms,
                            )
                        });
                        if let Err(e) = restored {
                            error!(agent = %name, "agent not put back after its delete failed: {e}");
                        }
                    }
                    None => {}
                }
                Err(e.into())
            }
        };
        let _ = in_flight.reply.send(answer);
        self.next_admin_write();
    }
}

impl Switchboard {
    /// Originates the supervisor into `eavesdrop` of the agent's leg, on the agent leg's node,
    /// off this task: the answer comes when the supervisor picked up (or did not).
    pub(super) fn eavesdrop(
        &self,
        ask: EavesdropAsk,
        reply: oneshot::Sender<Result<Eavesdrop, BoardError>>,
    ) {
        let (call, agent_leg) = match self.engine.agent_leg(&ask.agent) {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let leg = uuid::Uuid::new_v4().to_string();
        let (Ok(leg_id), Ok(agent_leg_id)) =
            (ChannelUuid::parse(&leg), ChannelUuid::parse(&agent_leg))
        else {
            let _ = reply.send(Err(BoardError::Switch(format!(
                "the agent's leg {agent_leg:?} is not a channel UUID"
            ))));
            return;
        };
        let node = self.node_of.get(&agent_leg).copied().unwrap_or(0);
        let Some(connection) = self.connections.get(node).cloned() else {
            let _ = reply.send(Err(BoardError::Switch("no FreeSWITCH node".into())));
            return;
        };
        let command =
            render::eavesdrop(&leg_id, &agent_leg_id, &ask.agent, ask.mode, &ask.endpoint)
                .to_string();
        info!(agent = %ask.agent, mode = ?ask.mode, endpoint = %ask.endpoint, by = %ask.by, %leg, "supervisor joins an agent's call");
        let joined = Eavesdrop {
            leg,
            agent: ask.agent,
            agent_leg,
            call,
            mode: ask.mode,
            endpoint: ask.endpoint,
        };
        tokio::spawn(async move {
            let result = match connection.bgapi(&command).await {
                Ok(job) => job.result().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let outcome = match result {
                Ok(body) if body.starts_with("+OK") => Ok(joined),
                Ok(body) => {
                    let cause = body.trim().trim_start_matches("-ERR").trim();
                    warn!(leg = %joined.leg, "supervisor not connected: {cause}");
                    Err(BoardError::Switch(cause.to_owned()))
                }
                Err(e) => Err(BoardError::Switch(e)),
            };
            let _ = reply.send(outcome);
        });
    }
}
