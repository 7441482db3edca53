//! Which instance leads, among those sharing one PostgreSQL database; one job: acquire the
//! lead, hold it, lose it.
//!
//! The leader holds a session-level advisory lock on a connection of its own
//! ([`LockSession`]); PostgreSQL frees it when that session dies (process killed, machine off,
//! network cut). Each takeover raises the fencing epoch in the `leadership` row. While it
//! leads, an instance renews its lease there every [`RENEW`]; each successful renewal opens
//! the [`Fence`] until [`LEASE`] after the renewal was *sent*, so the fence always shuts
//! before the database's lease runs out. The fence is the gate of every FreeSWITCH command
//! (`esl::Gate`) and is read from the monotonic clock at each command: a process frozen
//! (SIGSTOP, a VM paused) and resumed later finds its lease over and sends nothing, whatever
//! its timers fire first. Losing the lead (a renewal refused because a newer epoch leads, a
//! lost lock connection, no answer within the lease, a lease that lapsed) shuts the fence and
//! says so in the log; the instance then stands by, and its switchboard drops what it drove.
//!
//! A standby tries the lock every [`POLL`]. A leader whose lease lapsed more than [`GRACE`]
//! ago while PostgreSQL still keeps its session (frozen, or cut off without the TCP session
//! ending) has that session ended by the standby (`pg_terminate_backend`), which frees the
//! lock. SQLite serves one instance, which leads alone ([`Leadership::single`]).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{info, warn};

use crate::esl::Gate;
use crate::metrics::{Metrics, LEADER, LEADER_TAKEOVERS_TOTAL};
use crate::store::{LockSession, Store};
use crate::supervise::{Policy, Tasks};

/// How often the leader renews its lease.
pub const RENEW: Duration = Duration::from_millis(250);
/// How long one renewal lets commands leave (from when it was sent), and how long it holds
/// in the database.
pub const LEASE: Duration = Duration::from_millis(1_500);
/// How long after a lease lapsed a standby ends the old leader's session.
pub const GRACE: Duration = Duration::from_millis(1_000);
/// How often a standby tries to take the lead.
pub const POLL: Duration = Duration::from_millis(200);

/// What this instance is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The only instance (SQLite, or the API alone): it leads, unfenced.
    Single,
    /// Drives the queues, for this epoch.
    Leader { epoch: i64 },
    /// Stands by; the leader, when the database names one.
    Standby { leader: Option<Leader> },
}

/// The leader as the `leadership` row names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
    pub instance: String,
    pub address: String,
    pub epoch: i64,
}

impl Role {
    pub fn leads(&self) -> bool {
        matches!(self, Role::Single | Role::Leader { .. })
    }

    /// `leader`, `standby` (or `single`), as `/healthz` says it.
    pub fn label(&self) -> &'static str {
        match self {
            Role::Single => "single",
            Role::Leader { .. } => "leader",
            Role::Standby { .. } => "standby",
        }
    }
}

/// Whether FreeSWITCH commands may leave now: open until the lease's deadline on the
/// monotonic clock (which runs on while a process is stopped).
pub struct Fence {
    base: Instant,
    /// Nanoseconds after `base` until which commands may leave; 0: shut.
    until: AtomicU64,
}

impl Fence {
    fn shut() -> Fence {
        Fence {
            base: Instant::now(),
            until: AtomicU64::new(0),
        }
    }

    fn open_for_good() -> Fence {
        Fence {
            base: Instant::now(),
            until: AtomicU64::new(u64::MAX),
        }
    }

    /// Open until `lease` after `sent` (when the renewal that allows it was sent).
    fn open_until(&self, sent: Instant, lease: Duration) {
        let until = (sent + lease).saturating_duration_since(self.base);
        let nanos = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.until.store(nanos, Ordering::Release);
    }

    fn close(&self) {
        self.until.store(0, Ordering::Release);
    }
}

impl Gate for Fence {
    fn is_open(&self) -> bool {
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        now < self.until.load(Ordering::Acquire)
    }
}

/// This instance's part in the election; cheap to clone.
#[derive(Clone)]
pub struct Leadership {
    fence: Arc<Fence>,
    role: watch::Receiver<Role>,
    /// The epoch the queue-state writes carry (0 before the first lead).
    epoch: Arc<AtomicI64>,
    instance: Arc<str>,
}

/// What the election task shares with its handle.
struct Election {
    url: String,
    store: Store,
    instance: String,
    address: String,
    fence: Arc<Fence>,
    role: watch::Sender<Role>,
    epoch: Arc<AtomicI64>,
    metrics: Arc<Metrics>,
}

impl Leadership {
    /// The only instance: it leads from the start and its gate never shuts.
    pub fn single(instance: &str) -> Leadership {
        let (_, role) = watch::channel(Role::Single);
        Leadership {
            fence: Arc::new(Fence::open_for_good()),
            role,
            epoch: Arc::new(AtomicI64::new(0)),
            instance: instance.into(),
        }
    }

    /// Starts standing by on the PostgreSQL database at `url` (supervised as `leadership`),
    /// taking the lead when it is free.
    pub fn elect(
        url: &str,
        store: &Store,
        instance: &str,
        address: &str,
        tasks: &Tasks,
    ) -> Leadership {
        let (role, watched) = watch::channel(Role::Standby { leader: None });
        let metrics = tasks.metrics().clone();
        metrics.set(LEADER, "", &[("instance", instance)], 0.0);
        metrics.zero(LEADER_TAKEOVERS_TOTAL, &[("instance", instance)]);
        let election = Arc::new(Election {
            url: url.to_owned(),
            store: store.clone(),
            instance: instance.to_owned(),
            address: address.to_owned(),
            fence: Arc::new(Fence::shut()),
            role,
            epoch: Arc::new(AtomicI64::new(0)),
            metrics,
        });
        let handle = Leadership {
            fence: election.fence.clone(),
            role: watched,
            epoch: election.epoch.clone(),
            instance: instance.into(),
        };
        tasks.spawn("leadership", Policy::Restart, move || run(election.clone()));
        handle
    }

    /// The gate of this instance's FreeSWITCH commands.
    pub fn gate(&self) -> Arc<dyn Gate> {
        self.fence.clone()
    }

    pub fn role(&self) -> Role {
        self.role.borrow().clone()
    }

    /// Every change of role from now on.
    pub fn watch(&self) -> watch::Receiver<Role> {
        self.role.clone()
    }

    /// The epoch this instance's queue-state writes carry.
    pub fn epoch(&self) -> Arc<AtomicI64> {
        self.epoch.clone()
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Runs `work` while this instance leads: started when it takes the lead, dropped when it
    /// loses it, started afresh at the next lead. Ends when `work` ends by itself. For the
    /// workers only the leader runs (the outbox, webhooks, the SLA watcher).
    pub async fn while_leading<F, Fut>(&self, mut work: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut role = self.role.clone();
        loop {
            while !role.borrow_and_update().leads() {
                if role.changed().await.is_err() {
                    return;
                }
            }
            let lost = async {
                loop {
                    if role.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    if !role.borrow_and_update().leads() {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = work() => return,
                _ = lost => {}
            }
        }
    }
}

/// Stands by and leads, in turn, until the task is stopped.
async fn run(election: Arc<Election>) {
    // A restarted task starts over: whatever session it held died with it.
    election.fence.close();
    loop {
        let (session, epoch, sent) = stand_by(&election).await;
        let reason = lead(&election, session, epoch, sent).await;
        step_down(&election, epoch, &reason);
        // A healthy standby takes over first; this one contends again after a lease.
        tokio::time::sleep(LEASE).await;
    }
}

/// Tries the lock every [`POLL`] until it is this instance's; ends a lapsed leader's session.
async fn stand_by(election: &Election) -> (LockSession, i64, Instant) {
    let mut session: Option<LockSession> = None;
    let mut complained = false;
    loop {
        let tried = async {
            let open = match session.take() {
                Some(open) => open,
                None => LockSession::open(&election.url).await?,
            };
            let session = session.insert(open);
            let sent = Instant::now();
            let led = session
                .try_lead(&election.instance, &election.address, LEASE)
                .await?;
            if led.is_none() {
                let row = election.store.leader().await?;
                let leader = (!row.instance.is_empty()).then(|| Leader {
                    instance: row.instance.clone(),
                    address: row.address.clone(),
                    epoch: row.epoch,
                });
                election.role.send_if_modified(|role| {
                    let now = Role::Standby { leader };
                    let changed = *role != now;
                    *role = now;
                    changed
                });
                if election.store.end_lapsed_leader(GRACE).await? {
                    warn!(
                        leader = %row.instance,
                        epoch = row.epoch,
                        "the leader stopped renewing its lease; its database session is ended to free the lock"
                    );
                }
            }
            Ok::<_, crate::store::StoreError>(led.map(|epoch| (epoch, sent)))
        };
        match tokio::time::timeout(LEASE, tried).await {
            Ok(Ok(Some((epoch, sent)))) => {
                if let Some(session) = session.take() {
                    return (session, epoch, sent);
                }
            }
            Ok(Ok(None)) => complained = false,
            Ok(Err(e)) => {
                session = None;
                if !std::mem::replace(&mut complained, true) {
                    warn!("standing by: the database cannot be asked who leads: {e}");
                }
            }
            Err(_) => {
                session = None;
                if !std::mem::replace(&mut complained, true) {
                    warn!("standing by: the database did not answer within {LEASE:?}");
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Leads for `epoch`, renewing every [`RENEW`], until the lead is lost; answers why.
async fn lead(election: &Election, mut session: LockSession, epoch: i64, sent: Instant) -> String {
    election.epoch.store(epoch, Ordering::Release);
    election.fence.open_until(sent, LEASE);
    let labels = [("instance", election.instance.as_str())];
    election.metrics.set(LEADER, "", &labels, 1.0);
    election.metrics.inc(LEADER_TAKEOVERS_TOTAL, "", &labels, 1);
    election.role.send_replace(Role::Leader { epoch });
    info!(instance = %election.instance, epoch, "leading: this instance drives the queues");
    loop {
        tokio::time::sleep(RENEW).await;
        // Frozen past the lease (or the renewals were too slow): commands were refused
        // meanwhile, so what the switchboard drove is no longer known; start again.
        if !election.fence.is_open() {
            session.close().await;
            return format!("the lease of {LEASE:?} lapsed before it was renewed");
        }
        let sent = Instant::now();
        match tokio::time::timeout(LEASE, session.renew(epoch, LEASE)).await {
            Ok(Ok(true)) if election.fence.is_open() => election.fence.open_until(sent, LEASE),
            Ok(Ok(true)) => {
                session.close().await;
                return format!("the lease of {LEASE:?} lapsed before it was renewed");
            }
            Ok(Ok(false)) => {
                session.close().await;
                return "a newer leader took over".to_owned();
            }
            // The session is gone or in an unknown state: dropped, so PostgreSQL frees the
            // lock if it still held it.
            Ok(Err(e)) => return format!("the lock connection failed: {e}"),
            Err(_) => return format!("the lock connection did not answer within {LEASE:?}"),
        }
    }
}

/// Shuts the fence and says so.
fn step_down(election: &Election, epoch: i64, reason: &str) {
    election.fence.close();
    let labels = [("instance", election.instance.as_str())];
    election.metrics.set(LEADER, "", &labels, 0.0);
    election.role.send_replace(Role::Standby { leader: None });
    warn!(
        instance = %election.instance,
        epoch,
        "stepping down: {reason}; FreeSWITCH commands are closed off, this instance stands by"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fence_shuts_when_the_lease_runs_out() {
        let fence = Fence::shut();
        assert!(!fence.is_open());
        fence.open_until(Instant::now(), Duration::from_secs(60));
        assert!(fence.is_open());
        // A renewal sent long ago (a process frozen after sending it) opens nothing.
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(5))
            .unwrap_or_else(Instant::now);
        fence.open_until(long_ago, Duration::from_secs(1));
        assert!(!fence.is_open());
        fence.open_until(Instant::now(), Duration::from_secs(60));
        fence.close();
        assert!(!fence.is_open());
        assert!(Fence::open_for_good().is_open());
    }
}
