//! The `stats-recorder` task: reads the switchboard's updates (the same stream the live hub
//! reads) into the [`Recorder`] and stores its deltas every few seconds, when asked (at
//! shutdown) and never from the switchboard's own task. A failed write keeps the deltas for
//! the next one. The recorder and the subscription live outside the run, so a restarted run
//! goes on where the failed one stopped. It records only while its instance leads: a standby's
//! board shows the leader's view, which the leader records, and counting it twice would
//! double every agent's and queue's time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, Mutex};
use tracing::{error, warn};

use super::{Recorder, StatsConfig};
use crate::acd::Update;
use crate::clock::{self, Millis};
use crate::leadership::Leadership;
use crate::store::Store;
use crate::supervise::{Policy, Tasks};
use crate::switch::Board;

/// How often deltas are stored.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// How long a shutdown waits for the last write.
const LAST_FLUSH: Duration = Duration::from_secs(10);

/// A handle to the running recorder.
#[derive(Clone)]
pub struct StatsRecorder {
    asks: mpsc::Sender<oneshot::Sender<()>>,
}

struct Sources {
    recorder: Recorder,
    interval_ms: Millis,
    leadership: Leadership,
    updates: broadcast::Receiver<Update>,
    asks: mpsc::Receiver<oneshot::Sender<()>>,
    /// Agents' states were read from the switchboard (once, and again after a lag).
    seeded: bool,
}

impl StatsRecorder {
    /// Subscribes to `board`'s updates and starts the supervised task, which records while
    /// `leadership` says this instance leads.
    pub fn start(
        board: &Board,
        store: Store,
        config: &StatsConfig,
        leadership: Leadership,
        tasks: &Tasks,
    ) -> StatsRecorder {
        let (asks, asked) = mpsc::channel(4);
        let sources = Arc::new(Mutex::new(Sources {
            recorder: Recorder::new(config.interval_ms()),
            interval_ms: config.interval_ms(),
            leadership,
            updates: board.subscribe(),
            asks: asked,
            seeded: false,
        }));
        let board = board.clone();
        tasks.spawn("stats-recorder", Policy::RestartOnPanic, move || {
            run(board.clone(), store.clone(), sources.clone())
        });
        StatsRecorder { asks }
    }

    /// Stores what was recorded so far, waiting for the write (at most ten seconds).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.asks.send(done).await.is_ok() {
            let _ = tokio::time::timeout(LAST_FLUSH, wait).await;
        }
    }
}

async fn run(board: Board, store: Store, sources: Arc<Mutex<Sources>>) {
    let mut sources = sources.lock().await;
    let s = &mut *sources;
    let mut ticker = tokio::time::interval(FLUSH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut open, mut asking) = (true, true);
    while open || asking {
        if !s.leadership.role().leads() {
            // Nothing is counted while standing by; a lead starts from what the board shows.
            if s.seeded {
                s.recorder = Recorder::new(s.interval_ms);
                s.seeded = false;
            }
        } else if !s.seeded {
            s.seeded = seed(&board, &mut s.recorder).await;
        }
        tokio::select! {
            update = s.updates.recv(), if open => match update {
                Ok(update) => s.recorder.record(clock::now(), &update),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    error!(missed, "statistics missed switchboard updates; agents' states read again");
                    s.seeded = false;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    open = false;
                    store_deltas(&store, &mut s.recorder).await;
                }
            },
            _ = ticker.tick() => store_deltas(&store, &mut s.recorder).await,
            asked = s.asks.recv(), if asking => {
                // Whatever came before the ask is recorded first.
                while let Ok(update) = s.updates.try_recv() {
                    s.recorder.record(clock::now(), &update);
                }
                store_deltas(&store, &mut s.recorder).await;
                match asked {
                    Some(done) => {
                        let _ = done.send(());
                    }
                    None => asking = false,
                }
            }
        }
    }
}

/// Reads every agent's state and every queue's waiting callers from the switchboard, counted
/// from now. False if it did not answer (tried again on the next turn).
async fn seed(board: &Board, recorder: &mut Recorder) -> bool {
    let Ok(queues) = board.queues().await else {
        return false;
    };
    let now = clock::now();
    for agent in queues.iter().flat_map(|q| &q.agents) {
        recorder.agent_is(&agent.name, agent.status.label(), &agent.activity, now);
    }
    for queue in &queues {
        let live = queue.waiting.iter().filter(|c| !c.callback);
        recorder.queue_has(&queue.name, live.map(|c| c.call.clone()), now);
    }
    true
}

async fn store_deltas(store: &Store, recorder: &mut Recorder) {
    recorder.accrue(clock::now());
    let deltas = recorder.take();
    if deltas.is_empty() {
        return;
    }
    if let Err(e) = store.add_intervals(&deltas).await {
        warn!("statistics not stored yet, kept for the next write: {e}");
        recorder.put_back(deltas);
    }
}
