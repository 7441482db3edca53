//! Supervision of the long-lived tasks: the one place that spawns them, watches each for a
//! panic or an unexpected end, logs the cause, restarts it with growing jittered back-off (or
//! ends the process, for a task whose state cannot be rebuilt), counts restarts in
//! `switchdesk_task_restarts_total{task}` and keeps the health `/healthz` reports.
//!
//! A worker is given as a factory that makes a fresh future for each (re)start, so whatever
//! must survive a restart (a queue's receiver, a subscription) lives in the factory.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::metrics::{Metrics, TASK_RESTARTS_TOTAL};

/// First delay before a restart; it doubles (jittered) up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A run this long was healthy: the next failure starts the back-off afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// The exit status when a task that cannot be restarted failed (EX_SOFTWARE), so systemd
/// (`Restart=on-failure`) starts the process afresh.
pub const EXIT_TASK_FAILED: i32 = 70;

/// What a failure of the task leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Runs until shutdown: a panic, or returning, restarts it.
    Restart,
    /// Runs until its inputs close (it returns then, and is done); a panic restarts it.
    RestartOnPanic,
    /// Its state cannot be rebuilt inside the process: a panic ends the process (non-zero),
    /// returning means it was stopped.
    ExitOnPanic,
}

/// Where a task is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum TaskState {
    Running,
    /// Failed and waiting for its back-off before the next start.
    Restarting {
        cause: String,
    },
    /// Failed and not restarted: the process is ending.
    Ended {
        cause: String,
    },
}

impl TaskState {
    pub fn is_down(&self) -> bool {
        !matches!(self, TaskState::Running)
    }

    /// `running`, `restarting` or `ended`.
    pub fn label(&self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Restarting { .. } => "restarting",
            TaskState::Ended { .. } => "ended",
        }
    }
}

/// A task that is not running, for `/healthz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DownTask {
    pub task: String,
    #[serde(flatten)]
    pub state: TaskState,
}

/// Called with the task's name when an [`Policy::ExitOnPanic`] task failed.
pub type ExitHook = Arc<dyn Fn(&str) + Send + Sync>;

struct Entry {
    state: TaskState,
    /// Fault injection for tests ([`Tasks::inject_panic`]); never notified otherwise.
    fault: Arc<Notify>,
    /// Held by a [`Fault`] to keep the task down until it is dropped.
    hold: Arc<tokio::sync::Mutex<()>>,
}

struct Inner {
    metrics: Arc<Metrics>,
    tasks: Mutex<BTreeMap<String, Entry>>,
    exit: ExitHook,
}

/// The registry of supervised tasks; cheap to clone, cheap to read.
#[derive(Clone)]
pub struct Tasks {
    inner: Arc<Inner>,
}

/// Keeps a task whose panic was injected down (not restarted) until dropped.
pub struct Fault {
    _hold: tokio::sync::OwnedMutexGuard<()>,
}

impl Tasks {
    /// A registry counting restarts into `metrics`; a task that cannot be restarted ends the
    /// process with [`EXIT_TASK_FAILED`].
    pub fn new(metrics: Arc<Metrics>) -> Tasks {
        Tasks::with_exit_hook(
            metrics,
            Arc::new(|_: &str| std::process::exit(EXIT_TASK_FAILED)),
        )
    }

    /// As [`Tasks::new`], with `exit` called instead of ending the process (tests).
    pub fn with_exit_hook(metrics: Arc<Metrics>, exit: ExitHook) -> Tasks {
        Tasks {
            inner: Arc::new(Inner {
                metrics,
                tasks: Mutex::new(BTreeMap::new()),
                exit,
            }),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Starts `factory()` under supervision as `name` (made unique: `name#2`...). The
    /// handle aborts the task (and its supervision) at shutdown.
    pub fn spawn<F, Fut>(
        &self,
        name: impl Into<String>,
        policy: Policy,
        factory: F,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = self.register(name.into());
        // Exported at zero from the start, so an alert on any increase has a series to watch.
        self.inner
            .metrics
            .zero(TASK_RESTARTS_TOTAL, &[("task", name.as_str())]);
        let tasks = self.clone();
        tokio::spawn(async move { tasks.supervise(name, policy, factory).await })
    }

    /// Every task that is not running, by name.
    pub fn down(&self) -> Vec<DownTask> {
        self.lock()
            .iter()
            .filter(|(_, entry)| entry.state.is_down())
            .map(|(task, entry)| DownTask {
                task: task.clone(),
                state: entry.state.clone(),
            })
            .collect()
    }

    /// The state of `task`; `None` once it is done (or if it never was).
    pub fn state(&self, task: &str) -> Option<TaskState> {
        self.lock().get(task).map(|entry| entry.state.clone())
    }

    /// The names of the tasks supervised now.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Fault hook for tests: the running `task` panics now (or its next run, if it is
    /// between runs), through the same path as a real panic, and stays down until the
    /// returned [`Fault`] is dropped. Inert unless called; `None` for an unknown task.
    pub fn inject_panic(&self, task: &str) -> Option<Fault> {
        let tasks = self.lock();
        let entry = tasks.get(task)?;
        let hold = entry.hold.clone().try_lock_owned().ok()?;
        entry.fault.notify_one();
        Some(Fault { _hold: hold })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(&self, name: String) -> String {
        let mut tasks = self.lock();
        let mut unique = name.clone();
        let mut n = 1;
        while tasks.contains_key(&unique) {
            n += 1;
            unique = format!("{name}#{n}");
        }
        tasks.insert(
            unique.clone(),
            Entry {
                state: TaskState::Running,
                fault: Arc::new(Notify::new()),
                hold: Arc::new(tokio::sync::Mutex::new(())),
            },
        );
        unique
    }

    fn set(&self, task: &str, state: TaskState) {
        if let Some(entry) = self.lock().get_mut(task) {
            entry.state = state;
        }
    }

    fn done(&self, task: &str) {
        self.lock().remove(task);
    }

    fn handles(&self, task: &str) -> Option<(Arc<Notify>, Arc<tokio::sync::Mutex<()>>)> {
        self.lock()
            .get(task)
            .map(|entry| (entry.fault.clone(), entry.hold.clone()))
    }

    async fn supervise<F, Fut>(self, name: String, policy: Policy, mut factory: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut failures: u32 = 0;
        loop {
            let Some((fault, hold)) = self.handles(&name) else {
                return;
            };
            self.set(&name, TaskState::Running);
            let started = Instant::now();
            let work = factory();
            let mut run = AbortOnDrop(tokio::spawn(async move {
                tokio::select! {
                    () = work => {}
                    () = fault.notified() => panic!("fault injected (Tasks::inject_panic)"),
                }
            }));
            let cause = match (&mut run.0).await {
                Ok(()) if policy == Policy::Restart => {
                    "it ended; it should run until shutdown".to_owned()
                }
                Ok(()) => {
                    self.done(&name);
                    return;
                }
                Err(e) if e.is_panic() => format!("it panicked: {}", panic_message(e)),
                // Cancelled: the runtime is shutting down.
                Err(_) => {
                    self.done(&name);
                    return;
                }
            };
            if policy == Policy::ExitOnPanic {
                tracing::error!(
                    task = %name,
                    %cause,
                    "task cannot be restarted inside the process; exiting so the process \
                     starts afresh (waiting callers are re-adopted from FreeSWITCH)"
                );
                self.set(&name, TaskState::Ended { cause });
                (self.inner.exit)(&name);
                return;
            }
            failures = failure_count(failures, started.elapsed());
            let delay = crate::backoff::delay(INITIAL_BACKOFF, MAX_BACKOFF, failures - 1);
            tracing::error!(task = %name, %cause, restart_in = ?delay, "task failed; restarting");
            self.inner.metrics.inc(
                TASK_RESTARTS_TOTAL,
                "Restarts of supervised tasks after a panic or an unexpected end.",
                &[("task", name.as_str())],
                1,
            );
            self.set(&name, TaskState::Restarting { cause });
            tokio::time::sleep(delay).await;
            drop(hold.lock().await);
        }
    }
}

/// Failures in a row after one more, counting afresh when the run that failed was healthy
/// (lasted [`HEALTHY_RUN`]): a task failing once a day waits the shortest back-off each time.
fn failure_count(before: u32, ran_for: Duration) -> u32 {
    if ran_for >= HEALTHY_RUN {
        1
    } else {
        before.saturating_add(1)
    }
}

/// Aborts the running task when its supervisor is aborted (shutdown) or dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The panic's message when it is text (`panic!` with a literal or a format).
fn panic_message(error: tokio::task::JoinError) -> String {
    let payload = error.into_panic();
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        for _ in 0..600 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    #[tokio::test]
    async fn a_panicking_task_is_restarted_and_counted() {
        let tasks = Tasks::new(Metrics::new());
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        tasks.spawn("worker", Policy::Restart, move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(n > 0, "first run fails");
                std::future::pending::<()>().await;
            }
        });
        until("the restart", || starts.load(Ordering::SeqCst) == 2).await;
        until("running again", || tasks.down().is_empty()).await;
        let restarts = tasks
            .metrics()
            .get(TASK_RESTARTS_TOTAL, &[("task", "worker")]);
        assert_eq!(restarts, Some(1.0));
    }

    #[tokio::test]
    async fn a_task_done_with_its_inputs_is_not_down() {
        let tasks = Tasks::new(Metrics::new());
        let finished = tasks.spawn("reader", Policy::RestartOnPanic, || async {});
        finished.await.unwrap();
        assert_eq!(tasks.state("reader"), None);
        assert!(tasks.down().is_empty());
    }

    #[tokio::test]
    async fn a_forever_task_that_returns_is_restarted_with_its_cause() {
        let tasks = Tasks::new(Metrics::new());
        tasks.spawn("forever", Policy::Restart, || async {});
        until("the restart", || {
            tasks.state("forever") != Some(TaskState::Running)
        })
        .await;
        let down = tasks.down();
        assert_eq!(down.len(), 1);
        assert_eq!(
            down[0].state,
            TaskState::Restarting {
                cause: "it ended; it should run until shutdown".into()
            }
        );
    }

    #[tokio::test]
    async fn a_task_that_cannot_restart_calls_the_exit_hook() {
        let exited = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = exited.clone();
        let hook: ExitHook = Arc::new(move |task: &str| seen.lock().unwrap().push(task.into()));
        let tasks = Tasks::with_exit_hook(Metrics::new(), hook);
        tasks.spawn("engine", Policy::ExitOnPanic, || async {
            panic!("state lost");
        });
        until("the exit", || !exited.lock().unwrap().is_empty()).await;
        assert_eq!(*exited.lock().unwrap(), vec!["engine".to_owned()]);
        assert_eq!(
            tasks.state("engine"),
            Some(TaskState::Ended {
                cause: "it panicked: state lost".into()
            })
        );
    }

    #[test]
    fn back_off_grows_with_failures_in_a_row_and_resets_after_a_healthy_run() {
        let quick = Duration::from_millis(10);
        assert_eq!(failure_count(0, quick), 1);
        assert_eq!(failure_count(3, quick), 4);
        assert_eq!(failure_count(3, HEALTHY_RUN), 1);
        assert_eq!(failure_count(u32::MAX, quick), u32::MAX);
    }

    #[tokio::test]
    async fn names_are_unique() {
        let tasks = Tasks::new(Metrics::new());
        tasks.spawn("x", Policy::Restart, std::future::pending::<()>);
        tasks.spawn("x", Policy::Restart, std::future::pending::<()>);
        assert_eq!(tasks.names(), vec!["x".to_owned(), "x#2".to_owned()]);
    }
}
