//! The switchboard as its instance's role changes. Taking the lead is a restart inside the
//! process: the engine is loaded from the database again (agents keep their stored status,
//! callbacks and counters come back), then every node is read again and its callers are
//! re-adopted in their order, connected calls tracked to their end, offers the old leader
//! left ringing cancelled. Losing the lead drops what was driven (the fence has already shut
//! every command) and answers the API's engine writes with [`BoardError::Standby`].

use super::*;

/// How long a failed load waits before it is tried again.
const RELOAD: std::time::Duration = std::time::Duration::from_secs(1);

impl Switchboard {
    pub(super) fn role_changed(&mut self, role: Role) {
        let leads = role.leads();
        if leads == self.leads {
            return;
        }
        self.leads = leads;
        self.loads += 1;
        if leads {
            info!("taking the lead: loading the queues from the database, then every node is read again");
        } else if self.driving {
            self.stop_driving();
        }
        self.load(std::time::Duration::ZERO);
    }

    /// Stops driving: nothing more is sent, settings changes waiting are answered, and the
    /// engine keeps nothing of the calls (the leader's view is the one that counts).
    fn stop_driving(&mut self) {
        self.driving = false;
        warn!("the switchboard stands by: queues are no longer driven from this instance");
        let standby = || BoardError::Standby { leader: None };
        if let Some(in_flight) = self.admin_in_flight.take() {
            let _ = in_flight.reply.send(Err(standby()));
        }
        for (_, reply) in self.admin_waiting.drain(..) {
            let _ = reply.send(Err(standby()));
        }
        self.engine = Engine::new(self.loader.seed);
        self.identities.clear();
        self.drop_mirror();
        self.forget_calls();
    }

    /// Forgets every channel of the switch: a fresh lead reads them again.
    fn forget_calls(&mut self) {
        self.node_of.clear();
        self.refused.clear();
        self.resync_baseline.clear();
        self.ended_during_resync.clear();
        self.arrival_vars.clear();
        self.caller_bridges.clear();
        self.bridge_ready.clear();
        self.silent.clear();
        self.lagging.clear();
    }

    /// Loads the engine off this task, after `delay`, for the current role change.
    fn load(&self, delay: std::time::Duration) {
        let (loader, inbox, generation) = (self.loader.clone(), self.inbox.clone(), self.loads);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let loaded = Box::new(loader.load(generation, None).await);
            let _ = inbox.send(Msg::Loaded { generation, loaded }).await;
        });
    }

    pub(super) fn loaded(&mut self, generation: u64, loaded: Result<load::Loaded, BoardError>) {
        if generation != self.loads {
            return;
        }
        match loaded {
            Err(e) => {
                error!("the queues could not be loaded from the database, trying again: {e}");
                self.load(RELOAD);
            }
            Ok((engine, identities)) => {
                self.engine = engine;
                self.identities = identities;
                self.forget_calls();
                if self.leads {
                    // From here on the view is this engine's own.
                    self.drop_mirror();
                    self.view_changed();
                    self.driving = true;
                    info!(
                        nodes = self.connections.len(),
                        "driving the queues: every node is read again and its callers re-adopted"
                    );
                    for node in 0..self.connections.len() {
                        self.resync(node);
                    }
                }
            }
        }
    }

    /// A request while standing by: views answered from the leader's published view (or,
    /// before one arrived, from the engine as the database holds it), every change refused
    /// with the leader's address.
    pub(super) fn answer_standing_by(&mut self, now: Millis, request: Request) {
        let leader = match self.options.leadership.role() {
            Role::Standby {
                leader: Some(leader),
            } => Some(leader.address),
            _ => None,
        };
        let refuse = |reply: Reply| {
            let _ = reply.send(Err(BoardError::Standby {
                leader: leader.clone(),
            }));
        };
        let request = match self.answer_from_mirror(request) {
            Some(request) => request,
            None => return,
        };
        match request {
            Request::Queues(_)
            | Request::Identities(_)
            | Request::Caller(..)
            | Request::Agent(..) => self.answer(now, request),
            Request::Eject(_, reply) => {
                let _ = reply.send(false);
            }
            Request::AgentStatus(_, _, reply)
            | Request::SaveQueue(_, reply)
            | Request::DeleteQueue(_, reply)
            | Request::SaveAgent(_, reply)
            | Request::DeleteAgent(_, reply)
            | Request::MoveCaller(_, _, reply)
            | Request::ToFront(_, reply) => refuse(reply),
            Request::CallBack(_, reply) => {
                let _ = reply.send(Err(BoardError::Standby {
                    leader: leader.clone(),
                }));
            }
            Request::Eavesdrop(_, reply) => {
                let _ = reply.send(Err(BoardError::Standby {
                    leader: leader.clone(),
                }));
            }
        }
    }

    /// Answers a view from the leader's published view, if one is served; otherwise gives
    /// the request back.
    fn answer_from_mirror(&self, request: Request) -> Option<Request> {
        let Some(mirror) = &self.mirror else {
            return Some(request);
        };
        let view = &mirror.view;
        match request {
            Request::Queues(reply) => {
                let _ = reply.send((view.queues.clone(), mirror.source.clone()));
            }
            Request::Identities(reply) => {
                let _ = reply.send(view.identities.clone());
            }
            Request::Caller(call, reply) => {
                let found = view.recent.iter().rev().find(|c| c.call == call);
                let _ = reply.send(found.cloned());
            }
            Request::Agent(name, reply) => {
                let found = view.agents.iter().find(|a| a.name == name);
                let _ = reply.send(found.cloned());
            }
            request => return Some(request),
        }
        None
    }

    /// The writer's outcome for a settings change answered when the lead was lost.
    pub(super) fn stored_standing_by(&mut self, stored: Stored) {
        if let Err(e) = stored.result {
            debug!(
                ticket = stored.ticket,
                "settings change after the lead was lost: {e}"
            );
        }
    }
}
