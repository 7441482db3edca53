//! Rows of the audit log: added one at a time, listed newest first with filters. What a row
//! says is [`crate::audit`]'s business (secrets are removed there, before a row gets here).

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::filter::Filter;
use super::write::Returning as _;
use super::{parse, Store, StoreError};
use crate::audit::AuditEntry;
use crate::clock::{self, Millis};

/// What a page of the audit log is narrowed to; every field optional.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    /// At or after (Unix ms).
    pub from: Option<Millis>,
    /// Before (Unix ms).
    pub to: Option<Millis>,
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// Rows older than this id: the next page after a page whose last row had this id.
    pub before: Option<i64>,
    /// 100 unless asked, at most 1,000.
    pub limit: Option<u32>,
}

impl Store {
    /// Adds `entry` (its `at` is now) and returns its id.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let text = |value: &Option<serde_json::Value>| value.as_ref().map(|v| v.to_string());
        let row = sqlx::query(
            "INSERT INTO audit_log (at, actor, actor_role, kind, action, target, before_json, after_json, peer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(clock::now())
        .bind(entry.actor.as_str())
        .bind(entry.actor_role.as_str())
        .bind(entry.kind.as_str())
        .bind(entry.action.as_str())
        .bind(entry.target.as_str())
        .bind(text(&entry.before))
        .bind(text(&entry.after))
        .bind(entry.peer.as_deref())
        .returning_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// A page of the audit log, newest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let (sql, where_) = audit_query(filter);
        let rows = where_.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(entry_from).collect()
    }
}

/// The list's query: each filter is an equality or a range over an indexed column, read in
/// the index's order (`plans.rs` checks SQLite's plan of each).
pub(crate) fn audit_query(filter: &AuditFilter) -> (String, Filter<'_>) {
    let mut where_ = Filter::default();
    where_.eq_str("kind", filter.kind.as_deref());
    where_.eq_str("actor", filter.actor.as_deref());
    where_.eq_str("target", filter.target.as_deref());
    where_.at_least("at", filter.from);
    where_.before("at", filter.to);
    where_.before("id", filter.before);
    let sql = format!(
        "SELECT * FROM audit_log{} ORDER BY id DESC{}",
        where_.sql(),
        Filter::page(filter.limit, None)
    );
    (sql, where_)
}

fn entry_from(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let document = |column: &str| -> Result<Option<serde_json::Value>, StoreError> {
        row.try_get::<Option<String>, _>(column)?
            .map(|text| parse(column, &text))
            .transpose()
    };
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        actor_role: row.try_get("actor_role")?,
        kind: row.try_get("kind")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        before: document("before_json")?,
        after: document("after_json")?,
        peer: row.try_get("peer")?,
    })
}
