//! The engine as the database leaves it: queues, agents with their stored status, the day's
//! counters and pending callbacks. Read at start, and again whenever this instance takes the
//! lead or stands by (the leader before it changed the rows meanwhile); the callers come
//! from FreeSWITCH afterwards, by the resync.

use super::*;

/// What the engine is loaded from; cheap to clone, so a load runs off the routing task.
#[derive(Clone)]
pub(super) struct Loader {
    pub(super) store: Store,
    pub(super) seed: u64,
    pub(super) stats: StatsConfig,
    pub(super) identity: Arc<dyn CallerIdentity>,
}

/// An engine loaded from the database, with the identities of its restored callbacks.
pub(super) type Loaded = (Engine, HashMap<String, Identity>);

impl Loader {
    /// A fresh engine (seeded from `generation`) with the stored settings, agents' status,
    /// the day's counters and pending callbacks. `seeded` are the configuration file's
    /// queues and agents the database kept its own version of, to point out (at start only).
    pub(super) async fn load(
        &self,
        generation: u64,
        seeded: Option<(&[&QueueConfig], &[&AgentConfig])>,
    ) -> Result<Loaded, BoardError> {
        let store = &self.store;
        let queue_rows = store.queue_rows().await?;
        let agent_rows = store.agent_rows().await?;
        if let Some((kept_queues, kept_agents)) = seeded {
            warn_where_the_file_differs(kept_queues, kept_agents, &queue_rows, &agent_rows);
        }
        let now = clock::now();
        let mut engine = Engine::new(self.seed.wrapping_add(generation));
        // A row that no longer reads (a value refused since it was stored) is named in the
        // log and left out; the rest of the contact center starts. Saving it again over the
        // API (PUT /api/queues/NAME, /api/agents/NAME) brings it back.
        for queue in queue_rows {
            let queue = match queue {
                Ok(queue) => queue,
                Err(e) => {
                    error!("stored queue cannot be read, not served until saved again: {e}");
                    continue;
                }
            };
            if let Err(e) = engine.set_queue(now, queue.clone()) {
                error!(queue = %queue.name, "stored queue is not valid: {e}");
            }
        }
        for agent in agent_rows {
            let agent = match agent {
                Ok(agent) => agent,
                Err(e) => {
                    error!("stored agent cannot be read, not served until saved again: {e}");
                    continue;
                }
            };
            let name = agent.config.name.clone();
            let mut config = agent.config;
            // A membership of a queue that did not load (its row no longer reads) is left out
            // for this run, named, rather than the whole agent: the agent still takes calls
            // from the other queues, and the stored row keeps it for when the queue is back.
            let (known, unknown): (Vec<_>, Vec<_>) = config
                .queues
                .drain(..)
                .partition(|m| engine.queue_config(&m.queue).is_some());
            config.queues = known;
            if !unknown.is_empty() {
                let queues: Vec<&str> = unknown.iter().map(|m| m.queue.as_str()).collect();
                error!(
                    agent = %name,
                    queues = %queues.join(", "),
                    "stored agent is a member of queues that are not served; serving it in the others"
                );
            }
            match engine.set_agent(now, config) {
                Ok(()) => engine.restore_agent(&name, agent.status, agent.calls, agent.talk_ms)?,
                Err(e) => error!(agent = %name, "stored agent is not valid: {e}"),
            }
        }
        // The day's counters so far, as the statistics stored them (a restart keeps them).
        let day = self.stats.day();
        engine.set_short_abandon_secs(self.stats.short_abandon_secs);
        let (queues_today, agents_today) = day_so_far(store, day.start_of(now)).await?;
        engine.start_day(&queues_today, &agents_today);
        let mut identities = HashMap::new();
        for cb in store.pending_callbacks().await? {
            identities.insert(cb.id.clone(), self.callback_identity(&cb.number));
            if let Err(e) = engine.restore_callback(
                &cb.queue,
                &cb.id,
                &cb.number,
                cb.enqueued_at,
                cb.attempts,
                cb.not_before,
            ) {
                warn!(callback = %cb.id, "pending callback not restored: {e}");
            }
        }
        // Nothing to carry out yet: restored state was already in effect.
        while engine.poll_action().is_some() {}
        while engine.poll_update().is_some() {}
        Ok((engine, identities))
    }

    /// Who a callback's number is, for a callback whose caller's identification is not at
    /// hand (restored after a restart, or queued without a live caller).
    pub(super) fn callback_identity(&self, number: &str) -> Identity {
        let e164 = number.starts_with('+').then_some(number);
        self.identity.identify(e164, "")
    }
}
