//! Leadership among instances sharing one PostgreSQL database: the advisory lock on a
//! connection of its own ([`LockSession`]), the `leadership` row (epoch, who, lease) and the
//! fenced pool the leader's queue-state writer uses ([`Store::fenced`]). The election itself
//! (when to try, when to step down) is `service::leadership`'s; this module only says it in
//! SQL.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Connection as _, Executor as _, Row as _};

use super::write::{release_clean, Returning as _};
use super::{Backend, Store, StoreError};

/// The advisory lock every instance of one database contends for ("switchds" in ASCII).
/// Advisory locks are per database, so two deployments on one server do not meet.
const LEADER_LOCK: i64 = 0x7377_6974_6368_6473;

/// The database's clock, Unix milliseconds: leases are read and written on one clock.
const DB_NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// Who leads, as the `leadership` row says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderRow {
    pub epoch: i64,
    pub instance: String,
    pub address: String,
    /// Until when (the database's clock) the leader renewed its lease.
    pub lease_until: i64,
    /// The database's clock when the row was read.
    pub now: i64,
}

/// The leader's lock connection: the advisory lock lives and dies with its session, so
/// PostgreSQL frees it when the process, the machine or the network goes.
pub struct LockSession {
    conn: AnyConnection,
}

impl LockSession {
    /// A connection of its own (never from a pool: the lock must not be lent out).
    pub async fn open(url: &str) -> Result<LockSession, StoreError> {
        sqlx::any::install_default_drivers();
        Ok(LockSession {
            conn: AnyConnection::connect(url).await?,
        })
    }

    /// Takes the lock if nobody holds it; then this session leads: the epoch goes up by one
    /// and the row names `instance` at `address`, with a lease of `lease`. The new epoch.
    pub async fn try_lead(
        &mut self,
        instance: &str,
        address: &str,
        lease: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let got: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END::BIGINT",
        )
        .bind(LEADER_LOCK)
        .fetch_one(&mut self.conn)
        .await?;
        if got == 0 {
            return Ok(None);
        }
        let sql = format!(
            "UPDATE leadership SET epoch = epoch + 1, instance = $1, address = $2, \
             backend_pid = pg_backend_pid(), lease_until = {DB_NOW_MS} + $3, since = {DB_NOW_MS} \
             WHERE id = 1 RETURNING epoch"
        );
        let row = sqlx::query(&sql)
            .bind(instance)
            .bind(address)
            .bind(millis(lease))
            .returning_one(&mut self.conn)
            .await?;
        Ok(Some(row.try_get("epoch")?))
    }

    /// Renews the lease of `epoch`; false when a newer leader took over (or this session is
    /// no longer the one the row names).
    pub async fn renew(&mut self, epoch: i64, lease: Duration) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE leadership SET lease_until = {DB_NOW_MS} + $1 \
             WHERE id = 1 AND epoch = $2 AND backend_pid = pg_backend_pid() RETURNING epoch"
        );
        let row = sqlx::query(&sql)
            .bind(millis(lease))
            .bind(epoch)
            .returning_optional(&mut self.conn)
            .await?;
        Ok(row.is_some())
    }

    /// Ends the session (and with it the lock, if held).
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

impl Store {
    /// The `leadership` row, with the database's clock.
    pub async fn leader(&self) -> Result<LeaderRow, StoreError> {
        let now = match self.backend {
            Backend::Postgres => DB_NOW_MS.to_owned(),
            Backend::Sqlite => "CAST(strftime('%s','now') AS INTEGER) * 1000".to_owned(),
        };
        let row = sqlx::query(&format!(
            "SELECT epoch, instance, address, lease_until, {now} AS now FROM leadership WHERE id = 1"
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(LeaderRow {
            epoch: row.try_get("epoch")?,
            instance: row.try_get("instance")?,
            address: row.try_get("address")?,
            lease_until: row.try_get("lease_until")?,
            now: row.try_get("now")?,
        })
    }

    /// Ends the leader's database session if its lease ran out more than `grace` ago (a
    /// frozen or cut-off leader whose session PostgreSQL still keeps), which frees the lock.
    /// Only the session that holds the lock now is ended (a process id PostgreSQL gave to
    /// another session since is left alone). True if a session was ended.
    pub async fn end_lapsed_leader(&self, grace: Duration) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT CASE WHEN pg_terminate_backend(l.backend_pid::INTEGER) THEN 1 ELSE 0 END::BIGINT \
             FROM leadership l WHERE l.id = 1 AND l.backend_pid <> 0 \
             AND l.backend_pid <> pg_backend_pid() AND l.lease_until + $1 < {DB_NOW_MS} \
             AND EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted \
                 AND k.pid = l.backend_pid AND k.classid::TEXT::BIGINT = $2 \
                 AND k.objid::TEXT::BIGINT = $3 AND k.objsubid = 1 \
                 AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
        );
        let ended: Option<i64> = sqlx::query_scalar(&sql)
            .bind(millis(grace))
            .bind(LEADER_LOCK >> 32)
            .bind(LEADER_LOCK & 0xffff_ffff)
            .fetch_optional(&self.pool)
            .await?;
        Ok(ended == Some(1))
    }

    /// A small pool on the same database whose every connection writes for the epoch in
    /// `epoch` (read each time a connection is taken): the `switchdesk_fence` trigger refuses
    /// its queue-state writes once a newer leader exists ([`StoreError::is_fenced`]). On
    /// SQLite (one instance) the store itself.
    pub async fn fenced(&self, url: &str, epoch: Arc<AtomicI64>) -> Result<Store, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(self.clone());
        }
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .after_release(release_clean)
            .before_acquire(move |conn, _| {
                let epoch = epoch.load(Ordering::Acquire);
                Box::pin(async move {
                    conn.execute(
                        format!("SELECT set_config('switchdesk.epoch', '{epoch}', false)").as_str(),
                    )
                    .await?;
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        Ok(Store {
            pool,
            backend: self.backend,
        })
    }
}

fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}
