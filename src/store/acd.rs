//! Rows of the queue engine: queue and agent settings (JSON documents of
//! [`crate::acd::QueueConfig`] / [`crate::acd::AgentConfig`]), each agent's status and totals,
//! and pending callbacks. What the settings mean is the engine's business, not this module's.

use sqlx::Row as _;

use super::{json, parse, Store, StoreError};
use crate::acd::{AgentConfig, AgentStatus, QueueConfig};
use crate::clock::{self, Millis};

/// An agent as stored: settings, last status and totals (today's: at start-up the switchboard
/// takes calls and talk time from the statistics intervals instead).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAgent {
    pub config: AgentConfig,
    pub status: AgentStatus,
    pub calls: u64,
    pub talk_ms: u64,
}

/// A callback still to be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCallback {
    pub id: String,
    pub queue: String,
    pub number: String,
    pub enqueued_at: Millis,
    pub attempts: u32,
    pub not_before: Millis,
}

fn status_parts(status: &AgentStatus) -> (&'static str, &str) {
    match status {
        AgentStatus::LoggedOut => ("logged_out", ""),
        AgentStatus::Available => ("available", ""),
        AgentStatus::OnBreak(reason) => ("on_break", reason.as_str()),
    }
}

fn status_from(status: &str, reason: String) -> Result<AgentStatus, StoreError> {
    match status {
        "logged_out" => Ok(AgentStatus::LoggedOut),
        "available" => Ok(AgentStatus::Available),
        "on_break" => Ok(AgentStatus::OnBreak(reason)),
        other => Err(StoreError::Corrupt(format!("agent status {other:?}"))),
    }
}

/// A stored count (never below zero).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Which settings table a document goes to.
#[derive(Clone, Copy)]
enum Settings {
    Queues,
    Agents,
}

impl Store {
    /// Writes a settings document; `replace` decides whether an existing one is overwritten
    /// (the API) or kept (seeding from the configuration file). True if a row was written.
    async fn put_settings(
        &self,
        table: Settings,
        name: &str,
        document: String,
        replace: bool,
    ) -> Result<bool, StoreError> {
        let sql = match (table, replace) {
            (Settings::Queues, true) => "INSERT INTO acd_queues (name, config, updated_at) VALUES ($1, $2, $3) \
                ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
            (Settings::Queues, false) => "INSERT INTO acd_queues (name, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            (Settings::Agents, true) => "INSERT INTO acd_agents (name, config, updated_at) VALUES ($1, $2, $3) \
                ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
            (Settings::Agents, false) => "INSERT INTO acd_agents (name, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        };
        let done = sqlx::query(sql)
            .bind(name)
            .bind(document)
            .bind(clock::now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn save_queue(&self, config: &QueueConfig) -> Result<(), StoreError> {
        self.put_settings(Settings::Queues, &config.name, json(config)?, true)
            .await
            .map(|_| ())
    }

    /// Inserts the queue only if no queue of that name is stored (configuration-file seeding:
    /// what the API changed since is kept).
    pub async fn seed_queue(&self, config: &QueueConfig) -> Result<bool, StoreError> {
        self.put_settings(Settings::Queues, &config.name, json(config)?, false)
            .await
    }

    pub async fn delete_queue(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM acd_queues WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn queues(&self) -> Result<Vec<QueueConfig>, StoreError> {
        self.queue_rows().await?.into_iter().collect()
    }

    /// Every stored queue, each read on its own: one that no longer reads (a value refused
    /// since it was stored) does not hide the others.
    pub async fn queue_rows(&self) -> Result<Vec<Result<QueueConfig, StoreError>>, StoreError> {
        let rows = sqlx::query("SELECT name, config FROM acd_queues ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let name: String = row.try_get("name")?;
                parse(
                    &format!("queue {name}"),
                    &row.try_get::<String, _>("config")?,
                )
            })
            .collect())
    }

    pub async fn save_agent(&self, config: &AgentConfig) -> Result<(), StoreError> {
        self.put_settings(Settings::Agents, &config.name, json(config)?, true)
            .await
            .map(|_| ())
    }

    pub async fn seed_agent(&self, config: &AgentConfig) -> Result<bool, StoreError> {
        self.put_settings(Settings::Agents, &config.name, json(config)?, false)
            .await
    }

    pub async fn delete_agent(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM acd_agents WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn agents(&self) -> Result<Vec<StoredAgent>, StoreError> {
        self.agent_rows().await?.into_iter().collect()
    }

    /// Every stored agent, each read on its own (see [`Store::queue_rows`]).
    pub async fn agent_rows(&self) -> Result<Vec<Result<StoredAgent, StoreError>>, StoreError> {
        let rows = sqlx::query("SELECT name, config, status, break_reason, calls, talk_ms FROM acd_agents ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let name: String = row.try_get("name")?;
                Ok(StoredAgent {
                    config: parse(
                        &format!("agent {name}"),
                        &row.try_get::<String, _>("config")?,
                    )?,
                    status: status_from(
                        &row.try_get::<String, _>("status")?,
                        row.try_get("break_reason")?,
                    )?,
                    calls: count(row.try_get("calls")?),
                    talk_ms: count(row.try_get("talk_ms")?),
                })
            })
            .collect())
    }

    /// Records an agent's status (and totals) as it changes, so a restart restores it.
    pub async fn save_agent_state(
        &self,
        name: &str,
        status: &AgentStatus,
        calls: u64,
        talk_ms: u64,
    ) -> Result<(), StoreError> {
        let (status, reason) = status_parts(status);
        sqlx::query("UPDATE acd_agents SET status = $1, break_reason = $2, calls = $3, talk_ms = $4, updated_at = $5 WHERE name = $6")
            .bind(status)
            .bind(reason)
            .bind(i64::try_from(calls).unwrap_or(i64::MAX))
            .bind(i64::try_from(talk_ms).unwrap_or(i64::MAX))
            .bind(clock::now())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn save_callback(&self, callback: &StoredCallback) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO acd_callbacks (id, queue, number, enqueued_at, attempts, not_before, state, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) \
             ON CONFLICT (id) DO UPDATE SET queue = excluded.queue, attempts = excluded.attempts, \
             not_before = excluded.not_before, state = 'pending', updated_at = excluded.updated_at",
        )
        .bind(&callback.id)
        .bind(&callback.queue)
        .bind(&callback.number)
        .bind(callback.enqueued_at)
        .bind(i64::from(callback.attempts))
        .bind(callback.not_before)
        .bind(clock::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn finish_callback(&self, id: &str, reached: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE acd_callbacks SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(if reached { "reached" } else { "failed" })
            .bind(clock::now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn pending_callbacks(&self) -> Result<Vec<StoredCallback>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, queue, number, enqueued_at, attempts, not_before FROM acd_callbacks \
             WHERE state = 'pending' ORDER BY enqueued_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredCallback {
                    id: row.try_get("id")?,
                    queue: row.try_get("queue")?,
                    number: row.try_get("number")?,
                    enqueued_at: row.try_get("enqueued_at")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
                    not_before: row.try_get("not_before")?,
                })
            })
            .collect()
    }

    /// Callback `id`'s queue and state (`pending`, `reached` or `failed`), if stored.
    pub async fn callback_state(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT queue, state FROM acd_callbacks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("queue")?, row.try_get("state")?)))
            .transpose()
    }
}
