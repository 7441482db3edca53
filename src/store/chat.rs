//! Rows of `chat_sync`: where the Matrix bot stopped reading its room.

use sqlx::Row as _;

use super::{Store, StoreError};
use crate::clock;

impl Store {
    /// The sync token stored for `account` in `room`, if any.
    pub async fn chat_next_batch(
        &self,
        account: &str,
        room: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT next_batch FROM chat_sync WHERE account = $1 AND room = $2")
            .bind(account)
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("next_batch")?),
            None => None,
        })
    }

    /// Stores `next_batch` for `account` in `room`, replacing the one before.
    pub async fn set_chat_next_batch(
        &self,
        account: &str,
        room: &str,
        next_batch: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_sync (account, room, next_batch, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account, room) DO UPDATE \
             SET next_batch = excluded.next_batch, updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(room)
        .bind(next_batch)
        .bind(clock::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
