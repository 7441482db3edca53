//! Rows of CDR legs and calls, and [`CallTx`]: the one transaction a batch of CDRs is stored
//! and turned into ticket work in. What a leg or a call means is [`crate::cdr`]'s business;
//! which ticket a call joins is [`crate::tickets`]'.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row as _, Transaction};

use super::filter::Filter;
use super::tickets::ticket_from;
use super::write::Returning as _;
use super::{json, parse, Store, StoreError};
use crate::cdr::{CallKind, CallRecord, Leg, Outcome};
use crate::clock::Millis;
use crate::stats::ratings::RatedCall;
use crate::tickets::{Append, CallerKey, NewTicket, Ticket, TicketEvent, TimeEntry};

/// What a list of calls is narrowed to.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CallFilter {
    pub organization_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub outcome: Option<String>,
    pub caller_number: Option<String>,
    /// Unix ms, inclusive.
    pub from: Option<Millis>,
    /// Unix ms, exclusive.
    pub to: Option<Millis>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

pub(crate) fn call_from(row: &AnyRow) -> Result<CallRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    let outcome: String = row.try_get("outcome")?;
    Ok(CallRecord {
        id: row.try_get("id")?,
        kind: CallKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("call kind {kind:?}")))?,
        outcome: Outcome::parse(&outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("call outcome {outcome:?}")))?,
        caller_number: row.try_get("caller_number")?,
        caller_e164: row.try_get("caller_e164")?,
        caller_name: row.try_get("caller_name")?,
        destination: row.try_get("destination")?,
        queue: row.try_get("queue")?,
        agent: row.try_get("agent")?,
        started_at: row.try_get("started_at")?,
        answered_at: row.try_get("answered_at")?,
        ended_at: row.try_get("ended_at")?,
        wait_secs: row.try_get("wait_secs")?,
        talk_secs: row.try_get("talk_secs")?,
        hangup_cause: row.try_get("hangup_cause")?,
        recording: row.try_get("recording")?,
        identified: row.try_get("identified")?,
        contact_id: row.try_get("contact_id")?,
        organization_id: row.try_get("organization_id")?,
        vip: row.try_get::<i64, _>("vip")? != 0,
        ticket_id: row.try_get("ticket_id")?,
        rating: rating_from(row.try_get("rating")?)?,
    })
}

/// A stored rating: 1-5 or none.
pub(crate) fn rating_from(rating: Option<i64>) -> Result<Option<u8>, StoreError> {
    rating
        .map(|r| {
            u8::try_from(r)
                .ok()
                .filter(|r| (1..=5).contains(r))
                .ok_or_else(|| StoreError::Corrupt(format!("rating {r}")))
        })
        .transpose()
}

/// The legs stored for a call, by leg UUID.
async fn legs_of(conn: &mut AnyConnection, call_id: &str) -> Result<Vec<Leg>, StoreError> {
    let rows = sqlx::query("SELECT summary FROM cdr_legs WHERE call_id = $1 ORDER BY uuid")
        .bind(call_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| parse("cdr leg", &row.try_get::<String, _>("summary")?))
        .collect()
}

impl Store {
    /// Opens the transaction a batch of CDRs is stored in.
    pub async fn begin_calls(&self) -> Result<CallTx, StoreError> {
        Ok(CallTx {
            tx: self.pool.begin().await?,
        })
    }

    pub async fn call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        sqlx::query("SELECT * FROM calls WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(call_from)
            .transpose()
    }

    /// Calls, newest first.
    pub async fn calls(&self, filter: &CallFilter) -> Result<Vec<CallRecord>, StoreError> {
        let (sql, where_) = calls_query(filter);
        let rows = where_.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(call_from).collect()
    }

    /// The CDR document of one leg, exactly as FreeSWITCH sent it.
    pub async fn cdr_document(&self, uuid: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT document FROM cdr_legs WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The legs known for a call.
    pub async fn legs_of_call(&self, call_id: &str) -> Result<Vec<Leg>, StoreError> {
        legs_of(&mut *self.pool.acquire().await?, call_id).await
    }

    /// The rated calls that started in `from..to` (of one agent, or `""` all), oldest first:
    /// read from the rated calls' own index (migration 0021).
    pub async fn rated_calls(
        &self,
        from: Millis,
        to: Millis,
        agent: &str,
    ) -> Result<Vec<RatedCall>, StoreError> {
        let rows = sqlx::query(
            "SELECT started_at, agent, queue, organization_id, rating FROM calls \
             WHERE rating IS NOT NULL AND started_at >= $1 AND started_at < $2 \
             AND ($3 = '' OR agent = $3) ORDER BY started_at, id",
        )
        .bind(from)
        .bind(to)
        .bind(agent)
        .fetch_all(&self.pool)
        .await?;
        let mut rated = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(rating) = rating_from(row.try_get("rating")?)? {
                rated.push(RatedCall {
                    at: row.try_get("started_at")?,
                    agent: row.try_get("agent")?,
                    queue: row.try_get("queue")?,
                    organization_id: row.try_get("organization_id")?,
                    rating,
                });
            }
        }
        Ok(rated)
    }

    pub async fn count_cdr_legs(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_legs")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// One open transaction over calls and tickets. Dropped without [`CallTx::commit`], it rolls
/// back.
pub struct CallTx {
    pub(super) tx: Transaction<'static, Any>,
}

impl CallTx {
    /// Stores a leg and its document; false when the leg was stored before (a CDR posted
    /// again), in which case nothing changed.
    pub async fn insert_leg(
        &mut self,
        leg: &Leg,
        core_uuid: &str,
        document: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO cdr_legs (uuid, call_id, role, core_uuid, summary, document, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (uuid) DO NOTHING",
        )
        .bind(leg.uuid.as_str())
        .bind(leg.call_id.as_str())
        .bind(leg.role().as_str())
        .bind(core_uuid)
        .bind(json(leg)?)
        .bind(document)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn legs_of(&mut self, call_id: &str) -> Result<Vec<Leg>, StoreError> {
        legs_of(&mut self.tx, call_id).await
    }

    /// The rating a call was stored with, if any (a call stored before, and rated).
    pub async fn rating_of_call(&mut self, call_id: &str) -> Result<Option<u8>, StoreError> {
        let rating: Option<Option<i64>> =
            sqlx::query_scalar("SELECT rating FROM calls WHERE id = $1")
                .bind(call_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        rating_from(rating.flatten())
    }

    /// Puts a call's rating on its ticket; `low` raises the ticket's flag for a manager
    /// (which only a person clears).
    pub async fn rate_ticket(
        &mut self,
        ticket_id: i64,
        rating: u8,
        low: bool,
        now: Millis,
    ) -> Result<Ticket, StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET rating = $1, low_rating = CASE WHEN $2 = 1 THEN 1 ELSE low_rating END, \
             updated_at = $3 WHERE id = $4 RETURNING *",
        )
        .bind(i64::from(rating))
        .bind(i64::from(low))
        .bind(now)
        .bind(ticket_id)
        .returning_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("ticket {ticket_id}")))?;
        ticket_from(&row)
    }

    /// The ticket a call was already filed under, if any.
    pub async fn ticket_of_call(&mut self, call_id: &str) -> Result<Option<i64>, StoreError> {
        let ticket: Option<Option<i64>> =
            sqlx::query_scalar("SELECT ticket_id FROM calls WHERE id = $1")
                .bind(call_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(ticket.flatten())
    }

    /// Inserts or replaces the call (its ticket link is kept when `call.ticket_id` is None).
    pub async fn save_call(&mut self, call: &CallRecord, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calls (id, kind, outcome, caller_number, caller_e164, caller_name, destination, queue, agent, \
             started_at, answered_at, ended_at, wait_secs, talk_secs, hangup_cause, recording, identified, contact_id, \
             organization_id, vip, ticket_id, updated_at, rating) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, outcome = excluded.outcome, \
             caller_number = excluded.caller_number, caller_e164 = excluded.caller_e164, caller_name = excluded.caller_name, \
             destination = excluded.destination, queue = excluded.queue, agent = excluded.agent, \
             started_at = excluded.started_at, answered_at = excluded.answered_at, ended_at = excluded.ended_at, \
             wait_secs = excluded.wait_secs, talk_secs = excluded.talk_secs, hangup_cause = excluded.hangup_cause, \
             recording = excluded.recording, identified = excluded.identified, contact_id = excluded.contact_id, \
             organization_id = excluded.organization_id, vip = excluded.vip, rating = excluded.rating, \
             ticket_id = COALESCE(excluded.ticket_id, calls.ticket_id), updated_at = excluded.updated_at",
        )
        .bind(call.id.as_str())
        .bind(call.kind.as_str())
        .bind(call.outcome.as_str())
        .bind(call.caller_number.as_str())
        .bind(call.caller_e164.as_deref())
        .bind(call.caller_name.as_str())
        .bind(call.destination.as_str())
        .bind(call.queue.as_deref())
        .bind(call.agent.as_deref())
        .bind(call.started_at)
        .bind(call.answered_at)
        .bind(call.ended_at)
        .bind(call.wait_secs)
        .bind(call.talk_secs)
        .bind(call.hangup_cause.as_str())
        .bind(call.recording.as_deref())
        .bind(call.identified.as_str())
        .bind(call.contact_id)
        .bind(call.organization_id)
        .bind(i64::from(call.vip))
        .bind(call.ticket_id)
        .bind(now)
        .bind(call.rating.map(i64::from))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The caller's newest open ticket with a call at or after `since` (any age when None).
    pub async fn callers_open_ticket(
        &mut self,
        key: &CallerKey,
        since: Option<Millis>,
    ) -> Result<Option<Ticket>, StoreError> {
        let (column, since) = (
            match key {
                CallerKey::Contact(_) => "contact_id",
                CallerKey::Number(_) => "caller_number",
            },
            since.unwrap_or(i64::MIN),
        );
        let sql = format!(
            "SELECT * FROM tickets WHERE {column} = $1 AND status IN ('new', 'open', 'pending') \
             AND COALESCE(last_call_at, created_at) >= $2 ORDER BY COALESCE(last_call_at, created_at) DESC, id DESC LIMIT 1"
        );
        let query = match key {
            CallerKey::Contact(id) => sqlx::query(&sql).bind(*id),
            CallerKey::Number(number) => sqlx::query(&sql).bind(number.as_str()),
        };
        query
            .bind(since)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(ticket_from)
            .transpose()
    }

    pub async fn create_ticket(&mut self, new: &NewTicket) -> Result<Ticket, StoreError> {
        let row = sqlx::query(
            "INSERT INTO tickets (subject, status, priority, starred, kind, organization_id, contact_id, caller_number, \
             unidentified, queue, created_at, updated_at, last_call_at, first_response_due, first_response_at, resolution_due, assignee, category) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17) RETURNING *",
        )
        .bind(new.subject.as_str())
        .bind(new.status.as_str())
        .bind(i64::from(new.priority))
        .bind(i64::from(new.starred))
        .bind(new.kind.as_str())
        .bind(new.organization_id)
        .bind(new.contact_id)
        .bind(new.caller_number.as_str())
        .bind(i64::from(new.unidentified))
        .bind(new.queue.as_deref())
        .bind(new.created_at)
        .bind(new.last_call_at)
        .bind(new.first_response_due)
        .bind(new.first_response_at)
        .bind(new.resolution_due)
        .bind(new.assignee.as_deref())
        .bind(new.category.as_str())
        .returning_one(&mut *self.tx)
        .await?;
        ticket_from(&row)
    }

    /// Applies what a threaded call changes on its ticket: a call that started before the
    /// ticket was created (filed late) moves the creation back to it, and the agent who
    /// answered becomes the assignee of a ticket without one.
    pub async fn append_to_ticket(
        &mut self,
        append: &Append,
        now: Millis,
    ) -> Result<Ticket, StoreError> {
        let row = sqlx::query(
            "UPDATE tickets SET status = $1, priority = $2, first_response_at = $3, \
             last_call_at = CASE WHEN last_call_at IS NULL OR last_call_at < $4 THEN $4 ELSE last_call_at END, \
             created_at = CASE WHEN $7 < created_at THEN $7 ELSE created_at END, \
             assignee = COALESCE(assignee, $8), \
             updated_at = $5 WHERE id = $6 RETURNING *",
        )
        .bind(append.status.as_str())
        .bind(i64::from(append.priority))
        .bind(append.first_response_at)
        .bind(append.last_call_at)
        .bind(now)
        .bind(append.ticket_id)
        .bind(append.started_at)
        .bind(append.assignee.as_deref())
        .returning_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("ticket {}", append.ticket_id)))?;
        ticket_from(&row)
    }

    pub async fn link_call(&mut self, call_id: &str, ticket_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE calls SET ticket_id = $1 WHERE id = $2")
            .bind(ticket_id)
            .bind(call_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The agent's hourly rate in cents, if one was set.
    pub async fn agent_rate(&mut self, agent: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT hourly_rate_cents FROM agent_rates WHERE agent = $1")
                .bind(agent)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    /// Books time on a ticket; false when its leg was booked before.
    pub async fn book_time(&mut self, entry: &TimeEntry) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO ticket_time_entries (ticket_id, call_id, leg_uuid, agent, queue, seconds, hourly_rate_cents, cost_cents, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (leg_uuid) DO NOTHING",
        )
        .bind(entry.ticket_id)
        .bind(entry.call_id.as_deref())
        .bind(entry.leg_uuid.as_deref())
        .bind(entry.agent.as_str())
        .bind(entry.queue.as_deref())
        .bind(entry.seconds)
        .bind(entry.hourly_rate_cents)
        .bind(entry.cost_cents)
        .bind(entry.at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Queues a ticket change for the external helpdesk, in this transaction.
    pub async fn enqueue_webhook(
        &mut self,
        event: &TicketEvent,
        now: Millis,
    ) -> Result<(), StoreError> {
        super::tickets::enqueue_webhook(&mut self.tx, event, now).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The SQL of [`Store::calls`] and the values it binds (also read by the query-plan test).
pub(crate) fn calls_query(filter: &CallFilter) -> (String, Filter<'_>) {
    let mut where_ = Filter::default();
    where_.eq_i64("organization_id", filter.organization_id);
    where_.eq_i64("contact_id", filter.contact_id);
    where_.eq_i64("ticket_id", filter.ticket_id);
    where_.eq_str("queue", filter.queue.as_deref());
    where_.eq_str("agent", filter.agent.as_deref());
    where_.eq_str("outcome", filter.outcome.as_deref());
    // The caller as the phone book files numbers: E.164, or an internal extension (which
    // has no E.164 form and is kept as the switch gave it).
    let caller_column = match filter.caller_number.as_deref() {
        Some(number) if !number.starts_with('+') => "caller_number",
        _ => "caller_e164",
    };
    where_.eq_str(caller_column, filter.caller_number.as_deref());
    where_.at_least("started_at", filter.from);
    where_.before("started_at", filter.to);
    let sql = format!(
        "SELECT * FROM calls{} ORDER BY started_at DESC, id{}",
        where_.sql(),
        Filter::page(filter.limit, filter.offset)
    );
    (sql, where_)
}
