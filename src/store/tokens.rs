//! Rows of `api_tokens`: machine credentials found by the SHA-256 of the bearer token.
//! A revoked token keeps its row (and its name) as a record of who had access.

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::write::Returning as _;
use super::{parse_role, Store, StoreError};
use crate::accounts::{ApiToken, Role};
use crate::clock::{self, Millis};

/// `last_used_at` is refreshed at most this often, so a scraper does not write on every scrape.
const TOUCH_INTERVAL_MS: Millis = 60_000;

fn token_from_row(row: &AnyRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: parse_role(row.try_get("role")?)?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
    })
}

impl Store {
    /// `Conflict` when the name is taken, even by a revoked token.
    pub async fn create_api_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
    ) -> Result<ApiToken, StoreError> {
        let created_at = clock::now();
        let row = sqlx::query(
            "INSERT INTO api_tokens (name, role, token_hash, created_at, revoked) \
             VALUES ($1, $2, $3, $4, 0) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(created_at)
        .returning_one(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, || format!("API token {name:?}")))?;
        Ok(ApiToken {
            id: row.try_get("id")?,
            name: name.to_string(),
            role,
            created_at,
            last_used_at: None,
            revoked: false,
        })
    }

    /// The name and role of the token with this hash, unless it was revoked.
    pub async fn token_role(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(String, Role)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, role, last_used_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked = 0",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let name: String = row.try_get("name")?;
        let role = parse_role(row.try_get("role")?)?;
        let last_used: Option<Millis> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| now - at >= TOUCH_INTERVAL_MS) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some((name, role)))
    }

    /// `NotFound` if no token has this name; revoking twice is fine.
    pub async fn revoke_api_token(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("API token {name:?}")));
        }
        Ok(())
    }

    /// All tokens, revoked ones included, ordered by name.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query(
            "SELECT id, name, role, created_at, last_used_at, revoked FROM api_tokens ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }
}
