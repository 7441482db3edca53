//! Queue and agent statistics by interval: each write adds deltas to the rows of their
//! (queue or agent, interval start), so writes from every flush and every process add up;
//! reads return the rows of a range in (start, name) order. Answered callers' promised waits
//! are stored as pairs in the same transaction (a median does not add up).

use std::sync::OnceLock;

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::{Store, StoreError};
use crate::acd::stats::{Counters, PromisedWait};
use crate::clock::Millis;
use crate::stats::{AgentInterval, AgentTime, Deltas, QueueInterval, WaitingTime};

/// `queue_intervals`' counted columns, summed on conflict.
const QUEUE_SUMS: [&str; 17] = [
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "moved",
    "callbacks",
    "exited",
    "answered_within_sl",
    "abandoned_within_sl",
    "wait_answered_ms",
    "wait_abandoned_ms",
    "calls_ended",
    "talk_ms",
    "waiting_ms",
    // Not sums: the larger of the two (see `upsert`).
    "longest_wait_answered_ms",
    "peak_waiting",
];

/// Columns kept as a maximum instead of a sum.
fn is_maximum(column: &str) -> bool {
    column.starts_with("longest_") || column.starts_with("peak_")
}

const AGENT_SUMS: [&str; 9] = [
    "calls_answered",
    "answered_within_sl",
    "talk_ms",
    "login_ms",
    "available_ms",
    "ringing_ms",
    "in_call_ms",
    "wrap_up_ms",
    "break_ms",
];

fn queue_values(c: &Counters, w: &WaitingTime) -> [u64; 17] {
    [
        c.offered,
        c.answered,
        c.abandoned,
        c.short_abandoned,
        c.overflowed,
        c.moved,
        c.callbacks,
        c.exited,
        c.answered_within_sl,
        c.abandoned_within_sl,
        c.total_wait_answered_ms,
        c.total_wait_abandoned_ms,
        c.calls_ended,
        c.total_talk_ms,
        w.waiting_ms,
        c.longest_wait_answered_ms,
        w.peak_waiting,
    ]
}

fn agent_values(t: &AgentTime) -> [u64; 9] {
    [
        t.calls_answered,
        t.answered_within_sl,
        t.talk_ms,
        t.login_ms,
        t.available_ms,
        t.ringing_ms,
        t.in_call_ms,
        t.wrap_up_ms,
        t.break_ms,
    ]
}

/// `INSERT ... ON CONFLICT DO UPDATE` adding each column (maxima kept as maxima).
fn upsert(table: &str, key: &str, columns: &[&str]) -> String {
    let names = columns.join(", ");
    let places: Vec<String> = (3..3 + columns.len()).map(|n| format!("${n}")).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| {
            if is_maximum(c) {
                format!("{c} = CASE WHEN excluded.{c} > {table}.{c} THEN excluded.{c} ELSE {table}.{c} END")
            } else {
                format!("{c} = {table}.{c} + excluded.{c}")
            }
        })
        .collect();
    format!(
        "INSERT INTO {table} ({key}, interval_start, {names}) VALUES ($1, $2, {}) \
         ON CONFLICT ({key}, interval_start) DO UPDATE SET {}",
        places.join(", "),
        updates.join(", ")
    )
}

fn select(table: &str, key: &str, columns: &[&str]) -> String {
    format!(
        "SELECT {key}, interval_start, {} FROM {table} \
         WHERE interval_start >= $1 AND interval_start < $2 AND ($3 = '' OR {key} = $3) \
         ORDER BY interval_start, {key}",
        columns.join(", ")
    )
}

fn bind_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn read_u64(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
}

impl Store {
    /// Adds the deltas to their intervals and stores the promises, all in one transaction
    /// (a promise stored before is left as it is).
    pub async fn add_intervals(&self, deltas: &Deltas) -> Result<(), StoreError> {
        static QUEUE_SQL: OnceLock<String> = OnceLock::new();
        static AGENT_SQL: OnceLock<String> = OnceLock::new();
        let queue_sql = QUEUE_SQL.get_or_init(|| upsert("queue_intervals", "queue", &QUEUE_SUMS));
        let agent_sql = AGENT_SQL.get_or_init(|| upsert("agent_intervals", "agent", &AGENT_SUMS));
        let mut tx = self.pool.begin().await?;
        for q in &deltas.queues {
            let mut query = sqlx::query(queue_sql.as_str()).bind(&q.queue).bind(q.start);
            for value in queue_values(&q.counters, &q.waiting) {
                query = query.bind(bind_u64(value));
            }
            query.execute(&mut *tx).await?;
        }
        for a in &deltas.agents {
            let mut query = sqlx::query(agent_sql.as_str()).bind(&a.agent).bind(a.start);
            for value in agent_values(&a.time) {
                query = query.bind(bind_u64(value));
            }
            query.execute(&mut *tx).await?;
        }
        for p in &deltas.promises {
            sqlx::query(
                "INSERT INTO wait_promises (queue, call_uuid, told_at, promised_ms, answered_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue, call_uuid, told_at) DO NOTHING",
            )
            .bind(&p.queue)
            .bind(&p.call)
            .bind(p.told_at)
            .bind(bind_u64(p.promised_ms))
            .bind(p.answered_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Queue rows with `from <= start < to`, of one queue or (`""`) all.
    pub async fn queue_intervals(
        &self,
        from: Millis,
        to: Millis,
        queue: &str,
    ) -> Result<Vec<QueueInterval>, StoreError> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| select("queue_intervals", "queue", &QUEUE_SUMS));
        let rows = sqlx::query(sql.as_str())
            .bind(from)
            .bind(to)
            .bind(queue)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let v = |c: &str| read_u64(row, c);
                Ok(QueueInterval {
                    queue: row.try_get("queue")?,
                    start: row.try_get::<Millis, _>("interval_start")?,
                    counters: Counters {
                        offered: v("offered")?,
                        answered: v("answered")?,
                        abandoned: v("abandoned")?,
                        short_abandoned: v("short_abandoned")?,
                        overflowed: v("overflowed")?,
                        moved: v("moved")?,
                        callbacks: v("callbacks")?,
                        exited: v("exited")?,
                        answered_within_sl: v("answered_within_sl")?,
                        abandoned_within_sl: v("abandoned_within_sl")?,
                        total_wait_answered_ms: v("wait_answered_ms")?,
                        total_wait_abandoned_ms: v("wait_abandoned_ms")?,
                        longest_wait_answered_ms: v("longest_wait_answered_ms")?,
                        calls_ended: v("calls_ended")?,
                        total_talk_ms: v("talk_ms")?,
                    },
                    waiting: WaitingTime {
                        waiting_ms: v("waiting_ms")?,
                        peak_waiting: v("peak_waiting")?,
                    },
                })
            })
            .collect()
    }

    /// Promises of callers answered at `from <= answered_at < to`, of one queue or (`""`)
    /// all, in (answered_at, queue) order.
    pub async fn wait_promises(
        &self,
        from: Millis,
        to: Millis,
        queue: &str,
    ) -> Result<Vec<PromisedWait>, StoreError> {
        let rows = sqlx::query(
            "SELECT queue, call_uuid, told_at, promised_ms, answered_at FROM wait_promises \
             WHERE answered_at >= $1 AND answered_at < $2 AND ($3 = '' OR queue = $3) \
             ORDER BY answered_at, queue, call_uuid",
        )
        .bind(from)
        .bind(to)
        .bind(queue)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PromisedWait {
                    queue: row.try_get("queue")?,
                    call: row.try_get("call_uuid")?,
                    told_at: row.try_get::<Millis, _>("told_at")?,
                    promised_ms: read_u64(row, "promised_ms")?,
                    answered_at: row.try_get::<Millis, _>("answered_at")?,
                })
            })
            .collect()
    }

    /// Agent rows with `from <= start < to`, of one agent or (`""`) all.
    pub async fn agent_intervals(
        &self,
        from: Millis,
        to: Millis,
        agent: &str,
    ) -> Result<Vec<AgentInterval>, StoreError> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| select("agent_intervals", "agent", &AGENT_SUMS));
        let rows = sqlx::query(sql.as_str())
            .bind(from)
            .bind(to)
            .bind(agent)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let v = |c: &str| read_u64(row, c);
                Ok(AgentInterval {
                    agent: row.try_get("agent")?,
                    start: row.try_get::<Millis, _>("interval_start")?,
                    time: AgentTime {
                        calls_answered: v("calls_answered")?,
                        answered_within_sl: v("answered_within_sl")?,
                        talk_ms: v("talk_ms")?,
                        login_ms: v("login_ms")?,
                        available_ms: v("available_ms")?,
                        ringing_ms: v("ringing_ms")?,
                        in_call_ms: v("in_call_ms")?,
                        wrap_up_ms: v("wrap_up_ms")?,
                        break_ms: v("break_ms")?,
                    },
                })
            })
            .collect()
    }
}
