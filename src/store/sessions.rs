//! Rows of `sessions`: one per signed-in browser, found by the SHA-256 of its cookie.

use sqlx::Row as _;

use super::users::user_from_row;
use super::{Store, StoreError};
use crate::accounts::User;
use crate::clock::Millis;

/// `last_seen_at` is refreshed at most this often, so a busy dashboard does not turn every
/// request into a write.
const TOUCH_INTERVAL_MS: Millis = 60_000;

impl Store {
    /// `NotFound` if the user does not exist.
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("user id {user_id}"))
            }
            _ => StoreError::unique(e, || "session".to_string()),
        })?;
        Ok(())
    }

    /// The enabled user of a session that has not expired at `now`.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, u.disabled, u.created_at, s.last_seen_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let last_seen: Millis = row.try_get("last_seen_at")?;
        if now - last_seen >= TOUCH_INTERVAL_MS {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(user))
    }

    /// True if the session existed.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes sessions expired at `now`; returns how many.
    pub async fn purge_expired_sessions(&self, now: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
