//! Rows of `users`: create, look up, change role, password or status.

use sqlx::any::AnyRow;
use sqlx::{Any, Encode, Executor, Row as _, Transaction, Type};

use super::write::Returning as _;
use super::{parse_role, Store, StoreError};
use crate::accounts::{Role, User};
use crate::clock;

pub(super) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: parse_role(row.try_get("role")?)?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

fn no_user(name: &str) -> StoreError {
    StoreError::NotFound(format!("user {name:?}"))
}

impl Store {
    /// `Conflict` when the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let created_at = clock::now();
        let row = sqlx::query(
            "INSERT INTO users (name, role, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, 0, $4) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(created_at)
        .returning_one(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, || format!("user {name:?}")))?;
        Ok(User {
            id: row.try_get("id")?,
            name: name.to_string(),
            role,
            disabled: false,
            created_at,
        })
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT id, name, role, disabled, created_at FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    /// The user and their password hash, for checking a login.
    pub async fn user_credentials(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, role, disabled, created_at, password_hash FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    /// Everyone, ordered by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query("SELECT id, name, role, disabled, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    /// Replaces the password hash and ends the user's sessions, in one transaction.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let sql = "UPDATE users SET password_hash = $2 WHERE name = $1 RETURNING id";
        let id = update_user(&mut *tx, sql, name, password_hash.to_string()).await?;
        end_sessions(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes effect on the user's next request: sessions look the role up every time.
    pub async fn set_role(&self, name: &str, role: Role) -> Result<(), StoreError> {
        let sql = "UPDATE users SET role = $2 WHERE name = $1 RETURNING id";
        update_user(&self.pool, sql, name, role.as_str().to_string()).await?;
        Ok(())
    }

    /// The language the user chose for the screens; None when they have not (or no such user).
    pub async fn user_language(&self, name: &str) -> Result<Option<String>, StoreError> {
        let language: Option<Option<String>> =
            sqlx::query_scalar("SELECT language FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(language.flatten())
    }

    /// Stores the user's language (None: follow the browser); `NotFound` if no such user.
    pub async fn set_user_language(
        &self,
        name: &str,
        language: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE users SET language = $2 WHERE name = $1 RETURNING id";
        update_user(&self.pool, sql, name, language.map(str::to_owned)).await?;
        Ok(())
    }

    /// Removes the user and their sessions, in one transaction; `NotFound` if none.
    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(|| no_user(name))?;
        end_sessions(&mut tx, id).await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disabling also ends every session of the user, in one transaction.
    pub async fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let sql = "UPDATE users SET disabled = $2 WHERE name = $1 RETURNING id";
        let id = update_user(&mut *tx, sql, name, i64::from(disabled)).await?;
        if disabled {
            end_sessions(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Runs `UPDATE users SET <column> = $2 WHERE name = $1 RETURNING id`; `NotFound` if no such
/// user.
async fn update_user<'c, T>(
    executor: impl Executor<'c, Database = Any>,
    sql: &'static str,
    name: &str,
    value: T,
) -> Result<i64, StoreError>
where
    T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static,
{
    sqlx::query(sql)
        .bind(name)
        .bind(value)
        .returning_optional(executor)
        .await?
        .ok_or_else(|| no_user(name))?
        .try_get("id")
        .map_err(StoreError::from)
}

async fn end_sessions(tx: &mut Transaction<'_, Any>, user_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
