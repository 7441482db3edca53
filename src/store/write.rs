//! How a write is acknowledged: only once its commit succeeded, and a connection that lost
//! track of its transaction never goes back to the pool.
//!
//! Two ways a write could be answered and then be gone, both seen on a full disk:
//! - `fetch_one`/`fetch_optional` stop reading a statement at its first row. For
//!   `INSERT/UPDATE ... RETURNING` under autocommit, SQLite commits when the statement is
//!   finished, and sqlx finishes it by resetting it, discarding that result: a commit that
//!   failed (SQLITE_FULL) still handed back the row and its id. PostgreSQL likewise sends the
//!   row before a commit-time error, which is then never read. So every statement that
//!   returns rows from a write goes through [`Returning`], which reads it to its end,
//!   commit error included.
//! - A failed `COMMIT` that SQLite already rolled back leaves sqlx believing the transaction
//!   is still open (its `ROLLBACK` then fails too). The connection's next transaction is a
//!   `SAVEPOINT`, whose rollback leaves a real transaction open holding the write lock:
//!   every other connection gets "database is locked" for good. [`release_clean`] closes
//!   such a connection on its way back to the pool instead, so the store recovers by itself
//!   once space returns.
//!
//! [`Store::check_writes`] is the health check's honest question: can a row be written and
//! committed right now.

use std::future::Future;
use std::pin::Pin;

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{Any, AnyConnection, Connection as _, Executor};

use super::{Query, Store, StoreError};
use crate::clock::Millis;

/// Reading what a write returns (`INSERT/UPDATE ... RETURNING`): the statement is read to its
/// end, so the rows come back only after it, and under autocommit its commit, succeeded.
/// Use these instead of `fetch_one`/`fetch_optional` for any statement that writes.
pub(crate) trait Returning<'q> {
    /// The row the write must return (an insert's).
    async fn returning_one<'c, E>(self, on: E) -> Result<AnyRow, sqlx::Error>
    where
        E: 'q + Executor<'c, Database = Any>,
        'c: 'q;

    /// The row the write returned, if it touched one.
    async fn returning_optional<'c, E>(self, on: E) -> Result<Option<AnyRow>, sqlx::Error>
    where
        E: 'q + Executor<'c, Database = Any>,
        'c: 'q;
}

impl<'q> Returning<'q> for Query<'q> {
    async fn returning_one<'c, E>(self, on: E) -> Result<AnyRow, sqlx::Error>
    where
        E: 'q + Executor<'c, Database = Any>,
        'c: 'q,
    {
        self.returning_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    async fn returning_optional<'c, E>(self, on: E) -> Result<Option<AnyRow>, sqlx::Error>
    where
        E: 'q + Executor<'c, Database = Any>,
        'c: 'q,
    {
        Ok(self.fetch_all(on).await?.into_iter().next())
    }
}

/// The pool's `after_release` hook: a connection comes back only outside any transaction.
/// If sqlx still counts a transaction once a dropped transaction's rollback has run, that
/// rollback failed and the connection's state is unknown: it is closed (the pool opens a
/// fresh one when needed). SQLite runs the queued rollback on its worker thread, so one
/// round trip to the worker (no database I/O) comes first; PostgreSQL counts it at once.
pub(crate) fn release_clean(
    conn: &mut AnyConnection,
    _meta: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if conn.backend_name() == SQLITE {
            conn.ping().await?;
        }
        if conn.is_in_transaction() {
            tracing::warn!(
                "a database connection was left inside a failed transaction; closing it"
            );
            return Ok(false);
        }
        Ok(true)
    })
}

/// `AnyConnection::backend_name` of SQLite.
const SQLITE: &str = "SQLite";

impl Store {
    /// Writes and commits one row (updated in place), for the health check: an error means
    /// the database cannot store writes now (unreachable, read-only, disk full).
    pub async fn check_writes(&self, now: Millis) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE write_check SET at = $1 WHERE id = 1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Corrupt(
                "the write_check row is missing".to_owned(),
            ));
        }
        Ok(())
    }
}
