//! The switchboard's writer: the one task that stores what the switchboard hands it, so the
//! routing task never waits for the database.
//!
//! The switchboard puts work in a [`Backlog`] it shares with the writer and never waits:
//! - an admin write (a queue's or an agent's settings saved or deleted), one at a time; its
//!   outcome comes back to the switchboard as a message ([`Stored`]), on which it applies the
//!   change to the engine and answers the API (a write is acknowledged after it committed);
//! - each agent's latest status and totals, coalesced per agent (one entry per agent however
//!   far the database is behind: bounded, and the newest state is what gets stored); when one
//!   cannot be stored, it and the rest are kept and tried again a second later, after the
//!   admin write if one waits (an agent's state never holds a settings change up for long);
//! - callbacks and blocked attempts, in the order they happened, up to [`MAX_RECORDS`]; beyond
//!   that a record is refused and logged at ERROR.
//!
//! What survives a restart of the writer lives in the backlog: the admin write in flight is
//! taken out only after its outcome was sent, so a restarted writer commits it again (saves
//! and deletes are idempotent) and the switchboard ignores an outcome it is no longer waiting
//! for.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, warn};

use crate::acd::{AgentConfig, AgentStatus, QueueConfig};
use crate::store::{BlockedAttempt, Store, StoreError, StoredCallback};

/// Callbacks and blocked attempts waiting to be stored, at most.
pub(super) const MAX_RECORDS: usize = 10_000;

/// How long the writer waits before trying again after a write failed.
const RETRY: Duration = Duration::from_secs(1);

/// A change to the settings the API makes.
#[derive(Clone, Debug)]
pub(super) enum AdminWrite {
    SaveQueue(Box<QueueConfig>),
    DeleteQueue(String),
    SaveAgent(AgentConfig),
    DeleteAgent(String),
}

impl AdminWrite {
    async fn commit(&self, store: &Store) -> Result<(), StoreError> {
        match self {
            AdminWrite::SaveQueue(config) => store.save_queue(config).await,
            AdminWrite::DeleteQueue(name) => store.delete_queue(name).await.map(|_| ()),
            AdminWrite::SaveAgent(config) => store.save_agent(config).await,
            AdminWrite::DeleteAgent(name) => store.delete_agent(name).await.map(|_| ()),
        }
    }
}

/// The outcome of the admin write `ticket`.
#[derive(Debug)]
pub(super) struct Stored {
    pub ticket: u64,
    pub result: Result<(), StoreError>,
}

/// An agent's status and totals, as a restart restores them.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct AgentState {
    pub status: AgentStatus,
    pub calls: u64,
    pub talk_ms: u64,
}

/// A row that records something that happened, stored in order.
#[derive(Debug)]
pub(super) enum Record {
    Callback(StoredCallback),
    CallbackDone { id: String, reached: bool },
    BlockHit(i64, BlockedAttempt),
}

impl Record {
    async fn commit(&self, store: &Store) -> Result<(), StoreError> {
        match self {
            Record::Callback(callback) => store.save_callback(callback).await,
            Record::CallbackDone { id, reached } => store.finish_callback(id, *reached).await,
            Record::BlockHit(entry, attempt) => store.record_block_hit(*entry, attempt).await,
        }
    }
}

/// What is waiting to be stored.
#[derive(Default)]
pub(super) struct Backlog {
    /// The admin write in flight, by its ticket.
    admin: Option<(u64, AdminWrite)>,
    agents: BTreeMap<String, AgentState>,
    records: VecDeque<Record>,
}

impl Backlog {
    fn is_empty(&self) -> bool {
        self.admin.is_none() && self.agents.is_empty() && self.records.is_empty()
    }
}

/// The switchboard's side: hands work to the writer without waiting.
pub(super) struct Writes {
    backlog: Arc<Mutex<Backlog>>,
    /// Capacity one: a full channel means the writer is already woken.
    wake: mpsc::Sender<()>,
}

/// The writer's side, kept by its factory across restarts.
pub(super) struct Writer {
    backlog: Arc<Mutex<Backlog>>,
    wake: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
}

/// A backlog and the two ends that share it.
pub(super) fn backlog() -> (Writes, Writer) {
    let backlog = Arc::new(Mutex::new(Backlog::default()));
    let (wake, woken) = mpsc::channel(1);
    (
        Writes {
            backlog: backlog.clone(),
            wake,
        },
        Writer {
            backlog,
            wake: Arc::new(tokio::sync::Mutex::new(woken)),
        },
    )
}

fn lock(backlog: &Mutex<Backlog>) -> MutexGuard<'_, Backlog> {
    // Nothing panics while holding it; a poisoned backlog is still consistent.
    backlog.lock().unwrap_or_else(|e| e.into_inner())
}

impl Writes {
    /// Hands over the admin write `ticket`; the switchboard has at most one in flight.
    pub(super) fn admin(&self, ticket: u64, write: AdminWrite) {
        lock(&self.backlog).admin = Some((ticket, write));
        self.wake();
    }

    /// Stores `state` as the agent's latest (replacing one not yet stored).
    pub(super) fn agent(&self, name: &str, state: AgentState) {
        lock(&self.backlog).agents.insert(name.to_owned(), state);
        self.wake();
    }

    /// Queues `record` behind the others; refused and logged when [`MAX_RECORDS`] wait.
    /// True if queued.
    pub(super) fn record(&self, record: Record) -> bool {
        {
            let mut backlog = lock(&self.backlog);
            if backlog.records.len() >= MAX_RECORDS {
                drop(backlog);
                error!(
                    ?record,
                    "{MAX_RECORDS} records wait for the database; this one is not stored"
                );
                return false;
            }
            backlog.records.push_back(record);
        }
        self.wake();
        true
    }

    fn wake(&self) {
        // Full: the writer has a wake-up pending already.
        let _ = self.wake.try_send(());
    }
}

impl Writer {
    /// Stores the backlog until the switchboard is gone and nothing is left; sends each admin
    /// write's outcome to `inbox`.
    pub(super) async fn run<M: From<Stored>>(&self, store: Store, inbox: mpsc::Sender<M>) {
        let mut woken = self.wake.lock().await;
        let mut closed = false;
        loop {
            let admin = lock(&self.backlog).admin.clone();
            if let Some((ticket, write)) = admin {
                let result = write.commit(&store).await;
                if let Err(e) = &result {
                    warn!(?write, "settings not stored: {e}");
                }
                if inbox.send(Stored { ticket, result }.into()).await.is_err() {
                    return;
                }
                let mut backlog = lock(&self.backlog);
                if backlog.admin.as_ref().is_some_and(|(t, _)| *t == ticket) {
                    backlog.admin = None;
                }
            }
            let (agents, records) = {
                let mut backlog = lock(&self.backlog);
                (
                    std::mem::take(&mut backlog.agents),
                    std::mem::take(&mut backlog.records),
                )
            };
            let mut failed = false;
            let mut agents = agents.into_iter();
            while let Some((name, state)) = agents.next() {
                let stored = store
                    .save_agent_state(&name, &state.status, state.calls, state.talk_ms)
                    .await;
                if let Err(e) = stored {
                    if e.is_fenced() {
                        // A newer leader owns the queues: what this one would store is stale.
                        warn!(agent = %name, "agent state not stored: {e}");
                        continue;
                    }
                    error!(agent = %name, "agent state not stored yet, trying again: {e}");
                    failed = true;
                    // Put back, this one and the rest, unless a newer state came meanwhile;
                    // the next round starts with the admin write, if one waits.
                    let mut backlog = lock(&self.backlog);
                    for (name, state) in std::iter::once((name, state)).chain(agents) {
                        backlog.agents.entry(name).or_insert(state);
                    }
                    break;
                }
            }
            for record in records {
                if let Err(e) = record.commit(&store).await {
                    if e.is_fenced() {
                        warn!(?record, "queue state not stored: {e}");
                        continue;
                    }
                    error!(?record, "could not store queue state: {e}");
                }
            }
            if failed {
                if closed {
                    return;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
            if lock(&self.backlog).is_empty() {
                if closed {
                    return;
                }
                // None: the switchboard is gone; what it left is stored, then the writer stops.
                closed = woken.recv().await.is_none();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(calls: u64) -> AgentState {
        AgentState {
            status: AgentStatus::Available,
            calls,
            talk_ms: 0,
        }
    }

    #[test]
    fn an_agents_states_waiting_to_be_stored_are_one_the_newest() {
        let (writes, writer) = backlog();
        for calls in 1..=1_000 {
            writes.agent("agent1", state(calls));
        }
        writes.agent("agent2", state(7));
        let backlog = lock(&writer.backlog);
        assert_eq!(backlog.agents.len(), 2);
        assert_eq!(backlog.agents["agent1"], state(1_000));
    }

    #[test]
    fn records_beyond_the_limit_are_refused() {
        let (writes, writer) = backlog();
        let done = |n: usize| Record::CallbackDone {
            id: format!("cb{n}"),
            reached: true,
        };
        for n in 0..MAX_RECORDS {
            assert!(writes.record(done(n)));
        }
        assert!(!writes.record(done(MAX_RECORDS)));
        let backlog = lock(&writer.backlog);
        assert_eq!(backlog.records.len(), MAX_RECORDS);
        assert!(
            matches!(backlog.records.back(), Some(Record::CallbackDone { id, .. }) if *id == format!("cb{}", MAX_RECORDS - 1))
        );
    }
}
