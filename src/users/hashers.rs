//! The password-hashing threads: a fixed pool of long-lived threads named `switchdesk-argon2`,
//! fed by a bounded queue.
//!
//! Argon2id needs ~19 MiB of working memory per hash. Run on fresh blocking threads, every
//! thread's allocator keeps that memory after the thread is done with it, so a flood of
//! sign-ins grows the process by hundreds of megabytes; a few threads that live as long as the
//! process reuse theirs. When the queue is full a hash is refused at once ([`Busy`]) instead
//! of piling up waiting requests.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

/// Name of every hashing thread (what `/proc/PID/task/*/comm` shows).
pub const THREAD_NAME: &str = "switchdesk-argon2";

/// Used when [`start`] was never called (the CLI): two threads, a short queue.
const DEFAULT_WORKERS: usize = 2;
const DEFAULT_QUEUE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// Why a hash was not run.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: too many hashes are waiting already.
    Busy,
    /// No hashing thread is left (none could be started, or the work panicked).
    Gone,
}

struct Pool {
    jobs: SyncSender<Job>,
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// Starts the pool with `workers` threads and room for `queue` waiting hashes. The first call
/// (or first hash) fixes the size for the life of the process; later calls change nothing.
pub fn start(workers: usize, queue: usize) {
    POOL.get_or_init(|| Pool::spawn(workers.max(1), queue));
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool::spawn(DEFAULT_WORKERS, DEFAULT_QUEUE))
}

impl Pool {
    fn spawn(workers: usize, queue: usize) -> Pool {
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..workers {
            let waiting = waiting.clone();
            let spawned = std::thread::Builder::new()
                .name(THREAD_NAME.into())
                .spawn(move || work(&waiting));
            if let Err(e) = spawned {
                tracing::error!(error = %e, thread = n, "cannot start a password-hashing thread");
            }
        }
        Pool { jobs }
    }
}

fn work(waiting: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking the next job, never while hashing.
        let job = match waiting.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            // A panicking job must not take the thread with it; its caller sees `Gone`.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

/// Runs `work` on a hashing thread and waits for its result without blocking the runtime.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Refused> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    pool().jobs.try_send(job).map_err(|e| match e {
        TrySendError::Full(_) => Refused::Busy,
        TrySendError::Disconnected(_) => Refused::Gone,
    })?;
    // A panic in `work` drops `done`: the hash did not happen.
    result.await.map_err(|_| Refused::Gone)
}
