//! Rows of tickets, their time entries and notes, agents' rates and organizations' fees, the
//! figures of the profitability report, and the webhook outbox. What a ticket's status means
//! is [`crate::tickets`]' business.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::filter::Filter;
use super::write::Returning as _;
use super::{json, Store, StoreError};
use crate::clock::{self, Millis};
use crate::tickets::{
    NewTicket, Note, NoteKind, OrganizationUsage, SlaRow, Status, Ticket, TicketEvent, TicketKind,
    TicketPatch, TimeEntry, TOP_LINE,
};

/// What a list of tickets is narrowed to.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TicketFilter {
    pub organization_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// One status, or `open` for new, open and pending together.
    pub status: Option<String>,
    pub caller_number: Option<String>,
    /// Tickets opened in this queue or with a call through it.
    pub queue: Option<String>,
    /// Tickets this agent booked time on (each answered agent leg books its talk time).
    pub agent: Option<String>,
    /// Created at or after (Unix ms).
    pub from: Option<Millis>,
    /// Created before (Unix ms).
    pub to: Option<Millis>,
    /// Only tickets with a breached SLA clock.
    pub breached: Option<bool>,
    /// Tickets this person is assigned.
    pub assignee: Option<String>,
    /// Only tickets nobody is assigned.
    pub unassigned: Option<bool>,
    /// Only tickets flagged for a low rating.
    pub low_rating: Option<bool>,
    /// Words or a number to look for, read by the caller (the API) into what it matches.
    #[serde(skip)]
    pub search: Option<TicketSearch>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// A search over tickets, already read: a ticket matches when its subject holds the text (as
/// typed, or in lower case), its caller's number is `number`, or its contact or organization is
/// one of those found by name or number.
#[derive(Clone, Debug, Default)]
pub struct TicketSearch {
    /// The text as typed.
    pub text: String,
    /// The caller's number as tickets file it (E.164 or an extension), when the text reads as one.
    pub number: Option<String>,
    pub contacts: Vec<i64>,
    pub organizations: Vec<i64>,
    /// `%text%` as typed and lower-cased, `%`, `_` and `\` escaped (built by [`TicketSearch::new`]).
    patterns: [String; 2],
}

impl TicketSearch {
    pub fn new(
        text: &str,
        number: Option<String>,
        contacts: Vec<i64>,
        organizations: Vec<i64>,
    ) -> TicketSearch {
        let escaped: String = text
            .trim()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        TicketSearch {
            text: text.trim().to_owned(),
            number,
            contacts,
            organizations,
            patterns: [
                format!("%{escaped}%"),
                format!("%{}%", escaped.to_lowercase()),
            ],
        }
    }
}

/// A ticket change waiting for (or done with) delivery to the external helpdesk.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WebhookDelivery {
    pub id: i64,
    pub ticket_id: i64,
    pub event: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: String,
    pub created_at: Millis,
    pub delivered_at: Option<Millis>,
}

pub(crate) fn ticket_from(row: &AnyRow) -> Result<Ticket, StoreError> {
    let status: String = row.try_get("status")?;
    let kind: String = row.try_get("kind")?;
    let flag = |name: &str| -> Result<bool, StoreError> { Ok(row.try_get::<i64, _>(name)? != 0) };
    Ok(Ticket {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("ticket status {status:?}")))?,
        priority: u8::try_from(row.try_get::<i64, _>("priority")?)
            .map_err(|e| StoreError::Corrupt(format!("ticket priority: {e}")))?,
        starred: flag("starred")?,
        kind: TicketKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("ticket kind {kind:?}")))?,
        organization_id: row.try_get("organization_id")?,
        contact_id: row.try_get("contact_id")?,
        caller_number: row.try_get("caller_number")?,
        unidentified: flag("unidentified")?,
        queue: row.try_get("queue")?,
        assignee: row.try_get("assignee")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_call_at: row.try_get("last_call_at")?,
        first_response_due: row.try_get("first_response_due")?,
        first_response_at: row.try_get("first_response_at")?,
        resolution_due: row.try_get("resolution_due")?,
        resolved_at: row.try_get("resolved_at")?,
        first_response_breached: flag("first_response_breached")?,
        resolution_breached: flag("resolution_breached")?,
        line: line_from(row.try_get("line")?)?,
        rating: super::calls::rating_from(row.try_get("rating")?)?,
        low_rating: flag("low_rating")?,
        category: row.try_get("category")?,
    })
}

fn line_from(line: i64) -> Result<u8, StoreError> {
    u8::try_from(line)
        .ok()
        .filter(|l| (1..=TOP_LINE).contains(l))
        .ok_or_else(|| StoreError::Corrupt(format!("ticket line {line}")))
}

fn note_from(row: &AnyRow) -> Result<Note, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Note {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        author: row.try_get("author")?,
        body: row.try_get("body")?,
        at: row.try_get("at")?,
        kind: NoteKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("ticket note kind {kind:?}")))?,
        line: row
            .try_get::<Option<i64>, _>("line")?
            .map(line_from)
            .transpose()?,
    })
}

fn time_entry_from(row: &AnyRow) -> Result<TimeEntry, StoreError> {
    Ok(TimeEntry {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        call_id: row.try_get("call_id")?,
        leg_uuid: row.try_get("leg_uuid")?,
        agent: row.try_get("agent")?,
        queue: row.try_get("queue")?,
        seconds: row.try_get("seconds")?,
        hourly_rate_cents: row.try_get("hourly_rate_cents")?,
        cost_cents: row.try_get("cost_cents")?,
        at: row.try_get("at")?,
    })
}

fn webhook_from(row: &AnyRow) -> Result<WebhookDelivery, StoreError> {
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        event: row.try_get("event")?,
        payload: row.try_get("payload")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// Writes a ticket change to the webhook outbox on `conn` (inside the caller's transaction).
pub(crate) async fn enqueue_webhook(
    conn: &mut AnyConnection,
    event: &TicketEvent,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_outbox (ticket_id, event, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(event.ticket().id)
    .bind(event.name())
    .bind(json(event)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Who escalates a ticket, why and when (see [`Store::escalate_ticket`]).
pub(crate) struct Escalation<'a> {
    pub author: &'a str,
    pub reason: &'a str,
    pub now: Millis,
    pub webhook: bool,
    pub unless_taken_from: Option<&'a str>,
}

/// Moves ticket `id` one line up and writes the escalation note, on `conn` (inside the
/// caller's transaction); None when no ticket matched (none, on the top line, or taken by
/// somebody else).
pub(crate) async fn escalate_in(
    conn: &mut AnyConnection,
    id: i64,
    escalation: &Escalation<'_>,
) -> Result<Option<(Ticket, Note)>, StoreError> {
    let row = sqlx::query(
        "UPDATE tickets SET line = line + 1, updated_at = $1 \
         WHERE id = $2 AND line < $3 AND ($4 IS NULL OR assignee IS NULL OR assignee = $4) RETURNING *",
    )
    .bind(escalation.now)
    .bind(id)
    .bind(i64::from(TOP_LINE))
    .bind(escalation.unless_taken_from)
    .returning_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let ticket = ticket_from(&row)?;
    let note = sqlx::query(
        "INSERT INTO ticket_notes (ticket_id, author, body, at, kind, line) \
         VALUES ($1, $2, $3, $4, 'escalation', $5) RETURNING *",
    )
    .bind(id)
    .bind(escalation.author)
    .bind(escalation.reason)
    .bind(escalation.now)
    .bind(i64::from(ticket.line))
    .returning_one(&mut *conn)
    .await?;
    let note = note_from(&note)?;
    if escalation.webhook {
        let event = TicketEvent::Updated {
            ticket: ticket.clone(),
        };
        enqueue_webhook(conn, &event, escalation.now).await?;
    }
    Ok(Some((ticket, note)))
}

impl Store {
    pub async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        sqlx::query("SELECT * FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(ticket_from)
            .transpose()
    }

    /// Tickets, starred first, then newest first.
    pub async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        let (sql, where_) = tickets_query(filter);
        let rows = where_.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(ticket_from).collect()
    }

    /// How many tickets the filter matches on every page together (its limit and offset
    /// aside).
    pub async fn count_tickets(&self, filter: &TicketFilter) -> Result<i64, StoreError> {
        let listed = Listed::of(filter);
        let where_ = tickets_where(filter, listed);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {}{}",
            listed.from(),
            where_.sql()
        );
        let row = where_.bind(sqlx::query(&sql)).fetch_one(&self.pool).await?;
        Ok(row.try_get("n")?)
    }

    pub async fn time_entries(&self, ticket_id: i64) -> Result<Vec<TimeEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM ticket_time_entries WHERE ticket_id = $1 ORDER BY at, id")
                .bind(ticket_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(time_entry_from).collect()
    }

    pub async fn notes(&self, ticket_id: i64) -> Result<Vec<Note>, StoreError> {
        let rows = sqlx::query("SELECT * FROM ticket_notes WHERE ticket_id = $1 ORDER BY at, id")
            .bind(ticket_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(note_from).collect()
    }

    /// Opens a ticket by hand; the change is queued for the helpdesk when `webhook` is set.
    pub async fn open_ticket(&self, new: &NewTicket, webhook: bool) -> Result<Ticket, StoreError> {
        let mut tx = self.begin_calls().await?;
        let ticket = tx.create_ticket(new).await?;
        if webhook {
            tx.enqueue_webhook(
                &TicketEvent::Created {
                    ticket: ticket.clone(),
                },
                new.created_at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ticket)
    }

    /// Changes status, priority, star, subject, category or assignee, and sets the SLA
    /// deadlines to `deadlines` when given (a new category or priority). Resolving stamps `resolved_at`
    /// (reopening clears it); any change by a person counts as the first response. Neither is
    /// stamped before the ticket's creation (a switch's clock ahead of this one's).
    ///
    /// With `unless_taken_from`, the change applies only while the ticket is unassigned or
    /// assigned to that name (an agent taking a ticket cannot take it from somebody who took
    /// it a moment before): otherwise `Conflict`.
    pub async fn update_ticket(
        &self,
        id: i64,
        patch: &TicketPatch,
        now: Millis,
        webhook: bool,
        unless_taken_from: Option<&str>,
        deadlines: Option<(Millis, Millis)>,
    ) -> Result<Ticket, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE tickets SET status = COALESCE($1, status), priority = COALESCE($2, priority), \
             starred = COALESCE($3, starred), subject = COALESCE($4, subject), \
             resolved_at = CASE WHEN COALESCE($1, status) IN ('resolved', 'closed') \
                 THEN COALESCE(resolved_at, CASE WHEN created_at > $5 THEN created_at ELSE $5 END) ELSE NULL END, \
             first_response_at = COALESCE(first_response_at, CASE WHEN created_at > $5 THEN created_at ELSE $5 END), \
             assignee = CASE WHEN $7 = 1 THEN $8 ELSE assignee END, \
             category = COALESCE($10, category), first_response_due = COALESCE($11, first_response_due), \
             resolution_due = COALESCE($12, resolution_due), low_rating = COALESCE($13, low_rating), \
             updated_at = $5 WHERE id = $6 AND ($9 IS NULL OR assignee IS NULL OR assignee = $9) RETURNING *",
        )
        .bind(patch.status.map(Status::as_str))
        .bind(patch.priority.map(i64::from))
        .bind(patch.starred.map(i64::from))
        .bind(patch.subject.as_deref())
        .bind(now)
        .bind(id)
        .bind(i64::from(patch.assignee.is_some()))
        .bind(patch.assignee.clone().flatten())
        .bind(unless_taken_from)
        .bind(patch.category.as_deref())
        .bind(deadlines.map(|(first, _)| first))
        .bind(deadlines.map(|(_, resolution)| resolution))
        .bind(patch.low_rating.map(i64::from))
        .returning_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            return Err(match self.ticket(id).await? {
                Some(ticket) => StoreError::Conflict(format!(
                    "ticket {id} assigned to {}",
                    ticket.assignee.unwrap_or_default()
                )),
                None => StoreError::NotFound(format!("ticket {id}")),
            });
        };
        let ticket = ticket_from(&row)?;
        if webhook {
            let event = TicketEvent::Updated {
                ticket: ticket.clone(),
            };
            enqueue_webhook(&mut tx, &event, now).await?;
        }
        tx.commit().await?;
        Ok(ticket)
    }

    /// Adds a note; the first note by a person answers a new ticket (status `open`), never
    /// before its creation.
    pub async fn add_note(
        &self,
        ticket_id: i64,
        author: &str,
        body: &str,
        now: Millis,
    ) -> Result<Note, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET first_response_at = COALESCE(first_response_at, CASE WHEN created_at > $1 THEN created_at ELSE $1 END), \
             status = CASE WHEN status = 'new' THEN 'open' ELSE status END, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(ticket_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("ticket {ticket_id}")));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO ticket_notes (ticket_id, author, body, at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(ticket_id)
        .bind(author)
        .bind(body)
        .bind(now)
        .returning_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok(Note {
            id,
            ticket_id,
            author: author.to_owned(),
            body: body.to_owned(),
            at: now,
            kind: NoteKind::Note,
            line: None,
        })
    }

    /// Moves a ticket one support line up and records why in its history (an escalation
    /// note by `author`), queued for the helpdesk when `webhook` is set. An escalation is not
    /// a response to the customer: the SLA clocks stay as they are.
    ///
    /// With `unless_taken_from`, only while the ticket is unassigned or assigned to that name.
    /// `Conflict` when the ticket is on the top line already (or taken by somebody else),
    /// `NotFound` when there is none.
    pub async fn escalate_ticket(
        &self,
        id: i64,
        author: &str,
        reason: &str,
        now: Millis,
        webhook: bool,
        unless_taken_from: Option<&str>,
    ) -> Result<(Ticket, Note), StoreError> {
        let mut tx = self.pool.begin().await?;
        let escalation = Escalation {
            author,
            reason,
            now,
            webhook,
            unless_taken_from,
        };
        let Some(escalated) = escalate_in(&mut tx, id, &escalation).await? else {
            drop(tx);
            return Err(match self.ticket(id).await? {
                Some(ticket) if ticket.line >= TOP_LINE => {
                    StoreError::Conflict(format!("ticket {id} is on line {TOP_LINE}, the highest"))
                }
                Some(ticket) => StoreError::Conflict(format!(
                    "ticket {id} assigned to {}",
                    ticket.assignee.unwrap_or_default()
                )),
                None => StoreError::NotFound(format!("ticket {id}")),
            });
        };
        tx.commit().await?;
        Ok(escalated)
    }

    /// The tickets created in `[from, to)` per category and line, with how many kept each SLA
    /// clock as of `now` (met by the deadline, or not yet due) and both ([`SlaRow`]).
    pub async fn sla_report(
        &self,
        from: Millis,
        to: Millis,
        now: Millis,
    ) -> Result<Vec<SlaRow>, StoreError> {
        const FIRST: &str = "(CASE WHEN first_response_due IS NULL THEN 1 \
             WHEN first_response_at IS NOT NULL THEN (CASE WHEN first_response_at <= first_response_due THEN 1 ELSE 0 END) \
             WHEN first_response_due >= $3 THEN 1 ELSE 0 END)";
        const RESOLUTION: &str = "(CASE WHEN resolution_due IS NULL THEN 1 \
             WHEN resolved_at IS NOT NULL THEN (CASE WHEN resolved_at <= resolution_due THEN 1 ELSE 0 END) \
             WHEN resolution_due >= $3 THEN 1 ELSE 0 END)";
        let sql = format!(
            "SELECT category, line, COUNT(*) AS tickets, \
             CAST(SUM({FIRST}) AS BIGINT) AS first_kept, CAST(SUM({RESOLUTION}) AS BIGINT) AS resolution_kept, \
             CAST(SUM({FIRST} * {RESOLUTION}) AS BIGINT) AS within_sla \
             FROM tickets WHERE created_at >= $1 AND created_at < $2 GROUP BY category, line ORDER BY category, line"
        );
        let rows = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SlaRow {
                    category: row.try_get("category")?,
                    line: line_from(row.try_get("line")?)?,
                    tickets: row.try_get("tickets")?,
                    first_response_kept: row.try_get::<Option<i64>, _>("first_kept")?.unwrap_or(0),
                    resolution_kept: row
                        .try_get::<Option<i64>, _>("resolution_kept")?
                        .unwrap_or(0),
                    within_sla: row.try_get::<Option<i64>, _>("within_sla")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// Marks every SLA clock that ran out by `now`, once, and returns the tickets with the
    /// clock that ran out (`first_response` or `resolution`).
    pub async fn mark_breaches(
        &self,
        now: Millis,
        webhook: bool,
    ) -> Result<Vec<(Ticket, &'static str)>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut breached = Vec::new();
        for (clock, sql) in [
            (
                "first_response",
                "UPDATE tickets SET first_response_breached = 1, updated_at = $1 \
                 WHERE first_response_breached = 0 AND first_response_at IS NULL AND first_response_due < $1 \
                 AND status IN ('new', 'open', 'pending') RETURNING *",
            ),
            (
                "resolution",
                "UPDATE tickets SET resolution_breached = 1, updated_at = $1 \
                 WHERE resolution_breached = 0 AND resolved_at IS NULL AND resolution_due < $1 \
                 AND status IN ('new', 'open', 'pending') RETURNING *",
            ),
        ] {
            let rows = sqlx::query(sql).bind(now).fetch_all(&mut *tx).await?;
            for row in &rows {
                let ticket = ticket_from(row)?;
                if webhook {
                    let event = TicketEvent::Escalated {
                        ticket: ticket.clone(),
                        clock: clock.to_owned(),
                    };
                    enqueue_webhook(&mut tx, &event, now).await?;
                }
                breached.push((ticket, clock));
            }
        }
        tx.commit().await?;
        Ok(breached)
    }

    pub async fn set_agent_rate(&self, agent: &str, cents: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_rates (agent, hourly_rate_cents, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (agent) DO UPDATE SET hourly_rate_cents = excluded.hourly_rate_cents, updated_at = excluded.updated_at",
        )
        .bind(agent)
        .bind(cents)
        .bind(clock::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn agent_rates(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT agent, hourly_rate_cents FROM agent_rates ORDER BY agent")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("agent")?, r.try_get("hourly_rate_cents")?)))
            .collect()
    }

    pub async fn set_organization_fee(
        &self,
        organization_id: i64,
        monthly_cents: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO organization_fees (organization_id, monthly_fee_cents, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (organization_id) DO UPDATE SET monthly_fee_cents = excluded.monthly_fee_cents, updated_at = excluded.updated_at",
        )
        .bind(organization_id)
        .bind(monthly_cents)
        .bind(clock::now())
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("organization {organization_id}"))
            }
            _ => StoreError::Database(e),
        })?;
        Ok(())
    }

    /// Every organization's monthly fee in cents.
    pub async fn organization_fees(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT organization_id, monthly_fee_cents FROM organization_fees ORDER BY organization_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("organization_id")?,
                    r.try_get("monthly_fee_cents")?,
                ))
            })
            .collect()
    }

    /// Calls and booked time per organization in `[from, to)`: calls by when they started,
    /// time by when it was booked. Calls of unknown callers sum under `None`.
    pub async fn organization_usage(
        &self,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<OrganizationUsage>, StoreError> {
        let calls = sqlx::query(
            "SELECT organization_id, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) AS BIGINT) AS answered \
             FROM calls WHERE started_at >= $1 AND started_at < $2 GROUP BY organization_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let time = sqlx::query(
            "SELECT t.organization_id, CAST(SUM(e.seconds) AS BIGINT) AS seconds, CAST(SUM(e.cost_cents) AS BIGINT) AS cost \
             FROM ticket_time_entries e JOIN tickets t ON t.id = e.ticket_id \
             WHERE e.at >= $1 AND e.at < $2 GROUP BY t.organization_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut usage: BTreeMap<Option<i64>, OrganizationUsage> = BTreeMap::new();
        fn of(
            usage: &mut BTreeMap<Option<i64>, OrganizationUsage>,
            id: Option<i64>,
        ) -> &mut OrganizationUsage {
            usage.entry(id).or_insert_with(|| OrganizationUsage {
                organization_id: id,
                ..OrganizationUsage::default()
            })
        }
        for row in &calls {
            let u = of(&mut usage, row.try_get("organization_id")?);
            u.calls = row.try_get("calls")?;
            u.answered_calls = row.try_get::<Option<i64>, _>("answered")?.unwrap_or(0);
        }
        for row in &time {
            let u = of(&mut usage, row.try_get("organization_id")?);
            u.talk_secs = row.try_get::<Option<i64>, _>("seconds")?.unwrap_or(0);
            u.cost_cents = row.try_get::<Option<i64>, _>("cost")?.unwrap_or(0);
        }
        Ok(usage.into_values().collect())
    }

    /// Deliveries due at `now`, oldest first.
    pub async fn due_webhooks(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_from).collect()
    }

    /// The latest deliveries, newest first.
    pub async fn webhooks(&self, limit: u32) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = sqlx::query("SELECT * FROM webhook_outbox ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(webhook_from).collect()
    }

    pub async fn webhook_delivered(&self, id: i64, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, last_error = '' WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `next_attempt_at`, or given up when None.
    pub async fn webhook_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = $1, \
             state = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END, \
             next_attempt_at = COALESCE($2, next_attempt_at) WHERE id = $3",
        )
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// What the tickets list is read from, in the list's order (starred first, then newest first).
/// (The list by assignee reads `tickets_assignee`, an index of the tickets themselves.)
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    /// The tickets themselves (`tickets_listed`).
    Tickets,
    /// One queue's rows of `ticket_queues` (`ticket_queues_listed`).
    InQueue,
    /// One agent's rows of `ticket_agents` (`ticket_agents_listed`).
    WithAgent,
}

impl Listed {
    /// The list by queue (or else by agent) reads only that queue's (agent's) rows, which
    /// carry a copy of the ticket's star and creation time, so a page stops reading once it is
    /// full instead of checking ticket after ticket.
    fn of(filter: &TicketFilter) -> Listed {
        match (&filter.queue, &filter.agent) {
            (Some(_), _) => Listed::InQueue,
            (None, Some(_)) => Listed::WithAgent,
            (None, None) => Listed::Tickets,
        }
    }

    fn from(self) -> &'static str {
        match self {
            Listed::Tickets => "tickets t",
            Listed::InQueue => "ticket_queues l JOIN tickets t ON t.id = l.ticket_id",
            Listed::WithAgent => "ticket_agents l JOIN tickets t ON t.id = l.ticket_id",
        }
    }

    /// The list's order: (starred, created_at, ticket id) of what is read.
    fn order(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Listed::Tickets => ("t.starred", "t.created_at", "t.id"),
            Listed::InQueue | Listed::WithAgent => ("l.starred", "l.created_at", "l.ticket_id"),
        }
    }
}

/// The SQL of [`Store::tickets`] and the values it binds (also read by the query-plan test).
pub(crate) fn tickets_query(filter: &TicketFilter) -> (String, Filter<'_>) {
    let listed = Listed::of(filter);
    let (starred, created_at, id) = listed.order();
    let where_ = tickets_where(filter, listed);
    let sql = format!(
        "SELECT t.* FROM {}{} ORDER BY {starred} DESC, {created_at} DESC, {id} DESC{}",
        listed.from(),
        where_.sql(),
        Filter::page(filter.limit, filter.offset)
    );
    (sql, where_)
}

/// The conditions of the tickets list (and of its count).
fn tickets_where(filter: &TicketFilter, listed: Listed) -> Filter<'_> {
    let (_, created_at, _) = listed.order();
    let mut where_ = Filter::default();

    where_.eq_i64("t.organization_id", filter.organization_id);
    where_.eq_i64("t.contact_id", filter.contact_id);
    match filter.status.as_deref() {
        // Written as what it is not, so the list is read in its order (`tickets_listed`)
        // rather than every open ticket sorted; the CHECK on the column makes it the same.
        Some("open") => where_.raw("t.status NOT IN ('resolved', 'closed')"),
        status => where_.eq_str("t.status", status),
    }
    where_.eq_str("t.caller_number", filter.caller_number.as_deref());
    // A ticket is in a queue when it was opened there or has a call through it, and with an
    // agent who booked time on it: exactly its rows in `ticket_queues` and `ticket_agents`,
    // which the database keeps (migration 0009).
    where_.eq_str("l.queue", filter.queue.as_deref());
    if listed == Listed::WithAgent {
        where_.eq_str("l.agent", filter.agent.as_deref());
    } else {
        where_.text_condition(
            "EXISTS (SELECT 1 FROM ticket_agents a WHERE a.ticket_id = t.id AND a.agent = {})",
            filter.agent.as_deref(),
        );
    }
    where_.at_least(created_at, filter.from);
    where_.before(created_at, filter.to);
    if filter.breached == Some(true) {
        where_.raw("(t.first_response_breached = 1 OR t.resolution_breached = 1)");
    }
    where_.eq_str("t.assignee", filter.assignee.as_deref());
    if filter.unassigned == Some(true) {
        where_.raw("t.assignee IS NULL");
    }
    if filter.low_rating == Some(true) {
        where_.raw("t.low_rating = 1");
    }
    // A search reads every ticket the other filters leave: words inside a subject have no
    // index to be found by.
    if let Some(search) = &filter.search {
        let [typed, lower] = &search.patterns;
        let mut texts = vec![
            ("t.subject LIKE {} ESCAPE '\\'", typed.as_str()),
            ("LOWER(t.subject) LIKE {} ESCAPE '\\'", lower.as_str()),
        ];
        if let Some(number) = search.number.as_deref() {
            texts.push(("t.caller_number = {}", number));
        }
        where_.any(
            &texts,
            &[
                ("t.contact_id", &search.contacts),
                ("t.organization_id", &search.organizations),
            ],
        );
    }
    where_
}
