//! The leader's live view for its standbys: one row, republished while it changes
//! (`switch::board::mirror` decides what it holds and when). Written through the fenced
//! pool, so a leader that lost its epoch cannot overwrite a newer leader's view.

use sqlx::Row as _;

use super::{Store, StoreError};
use crate::clock::Millis;

/// The live view as a leader published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedView {
    /// Grows by one with every publication, across takeovers.
    pub version: i64,
    pub epoch: i64,
    /// The instance that published it.
    pub instance: String,
    pub published_at: Millis,
    /// The view as JSON.
    pub body: String,
}

impl Store {
    /// Publishes `body` as the live view of `instance`, leading for `epoch`.
    pub async fn publish_live_view(
        &self,
        epoch: i64,
        instance: &str,
        published_at: Millis,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE live_view SET version = version + 1, epoch = $1, instance = $2, \
             published_at = $3, body = $4 WHERE id = 1",
        )
        .bind(epoch)
        .bind(instance)
        .bind(published_at)
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The published view, if its version is past `seen`.
    pub async fn live_view_after(&self, seen: i64) -> Result<Option<PublishedView>, StoreError> {
        let row = sqlx::query(
            "SELECT version, epoch, instance, published_at, body FROM live_view \
             WHERE id = 1 AND version > $1",
        )
        .bind(seen)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PublishedView {
            version: row.try_get("version")?,
            epoch: row.try_get("epoch")?,
            instance: row.try_get("instance")?,
            published_at: row.try_get("published_at")?,
            body: row.try_get("body")?,
        }))
    }
}
