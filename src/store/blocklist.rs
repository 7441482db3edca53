//! Rows of the blocklist and its audit trail. What an entry means is
//! [`crate::blocklist`]'s business.

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::write::Returning as _;
use super::{Query, Store, StoreError};
use crate::blocklist::{Direction, Entry, Match, Treatment};
use crate::clock::{self, Millis};

/// One refused call, as audited.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BlockedAttempt {
    pub id: i64,
    /// The entry that refused it; None once that entry is deleted.
    pub entry_id: Option<i64>,
    pub direction: String,
    pub number: String,
    pub name: String,
    pub call_uuid: String,
    pub action: String,
    pub at: Millis,
}

fn match_parts(m: &Match) -> (&'static str, &str) {
    match m {
        Match::Number(n) => ("number", n),
        Match::Prefix(p) => ("prefix", p),
        Match::Name(p) => ("name", p),
    }
}

fn entry_from(row: &AnyRow) -> Result<Entry, StoreError> {
    let kind: String = row.try_get("match_kind")?;
    let pattern: String = row.try_get("pattern")?;
    let matches = match kind.as_str() {
        "number" => Match::Number(pattern),
        "prefix" => Match::Prefix(pattern),
        "name" => Match::Name(pattern),
        other => return Err(StoreError::Corrupt(format!("blocklist match {other:?}"))),
    };
    let direction: String = row.try_get("direction")?;
    let action: String = row.try_get("action")?;
    let argument: String = row.try_get("action_arg")?;
    Ok(Entry {
        id: row.try_get("id")?,
        matches,
        direction: Direction::parse(&direction)
            .ok_or_else(|| StoreError::Corrupt(format!("blocklist direction {direction:?}")))?,
        treatment: stored_treatment(row.try_get("id")?, &action, &argument)?,
        expires_at: row.try_get("expires_at")?,
        reason: row.try_get("reason")?,
        added_by: row.try_get("added_by")?,
        hits: u64::try_from(row.try_get::<i64, _>("hits")?).unwrap_or(0),
        last_hit_at: row.try_get("last_hit_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// An entry's treatment as stored. One whose argument is refused now (a prompt or an extension
/// FreeSWITCH would interpret, stored before switchdesk checked them) still keeps the caller
/// out, with a plain reject, and says so in the log until the entry is saved again.
fn stored_treatment(id: i64, action: &str, argument: &str) -> Result<Treatment, StoreError> {
    if let Some(treatment) = Treatment::from_parts(action, argument) {
        return Ok(treatment);
    }
    if !matches!(action, "reject" | "prompt" | "transfer") {
        return Err(StoreError::Corrupt(format!("blocklist action {action:?}")));
    }
    tracing::error!(
        entry = id,
        action,
        "blocklist entry's {action} argument is refused; the caller is rejected instead until \
         the entry is saved again (PUT /api/blocklist/{id})"
    );
    Ok(Treatment::default())
}

/// Binds the columns an insert and an update share, `$1` to `$7`: what the entry matches,
/// its direction, treatment, expiry and reason.
fn bind_entry<'q>(query: Query<'q>, entry: &'q Entry) -> Query<'q> {
    let (kind, pattern) = match_parts(&entry.matches);
    query
        .bind(kind)
        .bind(pattern)
        .bind(entry.direction.as_str())
        .bind(entry.treatment.label())
        .bind(entry.treatment.argument())
        .bind(entry.expires_at)
        .bind(entry.reason.as_str())
}

impl Store {
    /// Inserts (id 0) or replaces an entry; hits and creation time are kept on replace.
    /// Returns the stored entry.
    pub async fn save_block(&self, entry: &Entry) -> Result<Entry, StoreError> {
        let row = if entry.id == 0 {
            bind_entry(sqlx::query(
                "INSERT INTO blocklist (match_kind, pattern, direction, action, action_arg, expires_at, reason, added_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            ), entry)
            .bind(entry.added_by.as_str())
            .bind(clock::now())
            .returning_one(&self.pool)
            .await?
        } else {
            bind_entry(sqlx::query(
                "UPDATE blocklist SET match_kind = $1, pattern = $2, direction = $3, action = $4, action_arg = $5, \
                 expires_at = $6, reason = $7 WHERE id = $8 RETURNING *",
            ), entry)
            .bind(entry.id)
            .returning_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("blocklist entry {}", entry.id)))?
        };
        entry_from(&row)
    }

    pub async fn delete_block(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM blocklist WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn blocks(&self) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query("SELECT * FROM blocklist ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry_from).collect()
    }

    /// Counts a hit on `entry_id` and audits the attempt, in one transaction.
    pub async fn record_block_hit(
        &self,
        entry_id: i64,
        attempt: &BlockedAttempt,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE blocklist SET hits = hits + 1, last_hit_at = $1 WHERE id = $2")
            .bind(attempt.at)
            .bind(entry_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO blocklist_audit (entry_id, direction, number, name, call_uuid, action, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry_id)
        .bind(attempt.direction.as_str())
        .bind(attempt.number.as_str())
        .bind(attempt.name.as_str())
        .bind(attempt.call_uuid.as_str())
        .bind(attempt.action.as_str())
        .bind(attempt.at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest refused calls, newest first.
    pub async fn blocked_attempts(&self, limit: u32) -> Result<Vec<BlockedAttempt>, StoreError> {
        let rows = sqlx::query("SELECT * FROM blocklist_audit ORDER BY at DESC, id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(BlockedAttempt {
                    id: row.try_get("id")?,
                    entry_id: row.try_get("entry_id")?,
                    direction: row.try_get("direction")?,
                    number: row.try_get("number")?,
                    name: row.try_get("name")?,
                    call_uuid: row.try_get("call_uuid")?,
                    action: row.try_get("action")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }
}
