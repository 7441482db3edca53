//! Rows of incidents (migration 0022): the incident, the problem events folded into it, its
//! steps, and what it changes on its ticket. Writes happen inside a [`CallTx`] (the
//! transaction tickets are written in); which write an alarm or a timer makes is
//! [`crate::incidents`]' business.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::calls::CallTx;
use super::tickets::{escalate_in, ticket_from, Escalation};
use super::write::Returning as _;
use super::{Store, StoreError};
use crate::clock::Millis;
use crate::incidents::{Incident, IncidentStatus, Step, StepKind};
use crate::tickets::{Note, Ticket, TOP_LINE};

/// The asset a host is, and the organization owning it (directly, or through the contact
/// owning it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostAsset {
    pub asset_id: i64,
    pub organization_id: Option<i64>,
}

/// A timer of incident `id`, due at `due_was`, that ran out at `now` (see
/// [`CallTx::incident_timer_ran_out`]).
#[derive(Clone, Copy, Debug)]
pub struct RanOut<'a> {
    pub id: i64,
    pub due_was: Millis,
    /// The line it goes up to and the timer's next deadline; None on the top line.
    pub up: Option<(u8, Millis)>,
    /// The escalation note's text.
    pub reason: &'a str,
    pub by: &'a str,
    pub now: Millis,
    /// Queue the ticket's change for the helpdesk webhook.
    pub webhook: bool,
}

/// An incident about to be stored (its ticket already is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncident<'a> {
    pub source: &'a str,
    pub condition_key: &'a str,
    pub event_key: &'a str,
    pub title: &'a str,
    pub host: &'a str,
    pub address: &'a str,
    pub severity: &'a str,
    pub asset: Option<HostAsset>,
    pub ticket_id: i64,
    pub opened_at: Millis,
    pub due_at: Millis,
}

const SELECT: &str = "SELECT i.*, o.name AS organization_name FROM incidents i \
     LEFT JOIN organizations o ON o.id = i.organization_id";

fn line_of(value: i64) -> Result<u8, StoreError> {
    u8::try_from(value)
        .ok()
        .filter(|l| (1..=TOP_LINE).contains(l))
        .ok_or_else(|| StoreError::Corrupt(format!("incident line {value}")))
}

fn incident_from(row: &AnyRow) -> Result<Incident, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Incident {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        title: row.try_get("title")?,
        host: row.try_get("host")?,
        address: row.try_get("address")?,
        severity: row.try_get("severity")?,
        organization_id: row.try_get("organization_id")?,
        organization: row.try_get("organization_name")?,
        asset_id: row.try_get("asset_id")?,
        ticket_id: row.try_get("ticket_id")?,
        status: IncidentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("incident status {status:?}")))?,
        line: line_of(row.try_get("line")?)?,
        occurrences: row.try_get("occurrences")?,
        opened_at: row.try_get("opened_at")?,
        taken_at: row.try_get("taken_at")?,
        taken_by: row.try_get("taken_by")?,
        resolved_at: row.try_get("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        due_at: row.try_get("due_at")?,
        updated_at: row.try_get("updated_at")?,
        steps: Vec::new(),
    })
}

fn step_from(row: &AnyRow) -> Result<(i64, Step), StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok((
        row.try_get("incident_id")?,
        Step {
            kind: StepKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("incident step {kind:?}")))?,
            by: row.try_get("by_whom")?,
            line: line_of(row.try_get("line")?)?,
            at: row.try_get("at")?,
        },
    ))
}

async fn incident_on(conn: &mut AnyConnection, id: i64) -> Result<Option<Incident>, StoreError> {
    sqlx::query(&format!("{SELECT} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(incident_from)
        .transpose()
}

/// Fills each incident's steps, oldest first.
async fn with_steps(
    conn: &mut AnyConnection,
    mut incidents: Vec<Incident>,
) -> Result<Vec<Incident>, StoreError> {
    for incident in &mut incidents {
        let rows =
            sqlx::query("SELECT * FROM incident_steps WHERE incident_id = $1 ORDER BY at, id")
                .bind(incident.id)
                .fetch_all(&mut *conn)
                .await?;
        incident.steps = rows
            .iter()
            .map(|row| step_from(row).map(|(_, step)| step))
            .collect::<Result<_, _>>()?;
    }
    Ok(incidents)
}

impl CallTx {
    /// The asset named `host` (any case), else the one at `address`; the lowest id wins.
    pub async fn host_asset(
        &mut self,
        host: &str,
        address: &str,
    ) -> Result<Option<HostAsset>, StoreError> {
        const OWNED: &str =
            "SELECT a.id, COALESCE(a.owner_organization_id, c.organization_id) AS organization_id \
             FROM assets a LEFT JOIN contacts c ON c.id = a.owner_contact_id";
        for (condition, value) in [
            ("lower(a.name) = lower($1)", host),
            ("a.address = $1", address),
        ] {
            if value.is_empty() {
                continue;
            }
            let row = sqlx::query(&format!("{OWNED} WHERE {condition} ORDER BY a.id LIMIT 1"))
                .bind(value)
                .fetch_optional(&mut *self.tx)
                .await?;
            if let Some(row) = row {
                return Ok(Some(HostAsset {
                    asset_id: row.try_get("id")?,
                    organization_id: row.try_get("organization_id")?,
                }));
            }
        }
        Ok(None)
    }

    pub async fn incident(&mut self, id: i64) -> Result<Option<Incident>, StoreError> {
        incident_on(&mut self.tx, id).await
    }

    /// The incident a problem event was folded into, if it was.
    pub async fn incident_of_event(
        &mut self,
        event_key: &str,
    ) -> Result<Option<Incident>, StoreError> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT incident_id FROM incident_alarms WHERE event_key = $1")
                .bind(event_key)
                .fetch_optional(&mut *self.tx)
                .await?;
        match id {
            Some(id) => self.incident(id).await,
            None => Ok(None),
        }
    }

    /// The latest incident of a condition.
    pub async fn latest_incident_of(
        &mut self,
        condition_key: &str,
    ) -> Result<Option<Incident>, StoreError> {
        sqlx::query(&format!(
            "{SELECT} WHERE i.condition_key = $1 ORDER BY i.id DESC LIMIT 1"
        ))
        .bind(condition_key)
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(incident_from)
        .transpose()
    }

    /// The ticket of the organization's latest incident that is not resolved and was opened
    /// by `at`: where that organization's calls are filed while it lasts.
    pub async fn organization_incident_ticket(
        &mut self,
        organization_id: i64,
        at: Millis,
    ) -> Result<Option<Ticket>, StoreError> {
        sqlx::query(
            "SELECT t.* FROM incidents i JOIN tickets t ON t.id = i.ticket_id \
             WHERE i.organization_id = $1 AND i.status IN ('open', 'taken') AND i.opened_at <= $2 \
             ORDER BY i.opened_at DESC, i.id DESC LIMIT 1",
        )
        .bind(organization_id)
        .bind(at)
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(ticket_from)
        .transpose()
    }

    /// Stores a new incident (open, line 1, one occurrence), its first event and its
    /// `opened` step.
    pub async fn insert_incident(&mut self, new: &NewIncident<'_>) -> Result<Incident, StoreError> {
        let id: i64 = sqlx::query(
            "INSERT INTO incidents (source, condition_key, title, host, address, severity, organization_id, asset_id, \
             ticket_id, status, line, occurrences, opened_at, due_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', 1, 1, $10, $11, $10) RETURNING id",
        )
        .bind(new.source)
        .bind(new.condition_key)
        .bind(new.title)
        .bind(new.host)
        .bind(new.address)
        .bind(new.severity)
        .bind(new.asset.and_then(|a| a.organization_id))
        .bind(new.asset.map(|a| a.asset_id))
        .bind(new.ticket_id)
        .bind(new.opened_at)
        .bind(new.due_at)
        .returning_one(&mut *self.tx)
        .await?
        .try_get("id")?;
        self.fold_event(id, new.event_key, new.opened_at).await?;
        self.add_incident_step(
            id,
            StepKind::Opened,
            crate::incidents::BY_MONITORING,
            1,
            new.opened_at,
        )
        .await?;
        self.incident(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))
    }

    /// Records that a problem event was folded into incident `id`.
    pub async fn fold_event(
        &mut self,
        id: i64,
        event_key: &str,
        at: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO incident_alarms (event_key, incident_id, at) VALUES ($1, $2, $3)")
            .bind(event_key)
            .bind(id)
            .bind(at)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| StoreError::unique(e, || format!("alarm event {event_key}")))?;
        Ok(())
    }

    pub async fn add_incident_step(
        &mut self,
        id: i64,
        kind: StepKind,
        by: &str,
        line: u8,
        at: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO incident_steps (incident_id, kind, by_whom, line, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(by)
        .bind(i64::from(line))
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// One more occurrence; with `reopen_due`, the incident opens again (untaken, its take
    /// timer running until then) and so does its ticket.
    pub async fn incident_occurred(
        &mut self,
        id: i64,
        now: Millis,
        reopen_due: Option<Millis>,
    ) -> Result<(Incident, Option<Ticket>), StoreError> {
        let reopen = reopen_due.is_some();
        sqlx::query(
            "UPDATE incidents SET occurrences = occurrences + 1, updated_at = $1, \
             status = CASE WHEN $2 = 1 THEN 'open' ELSE status END, \
             taken_at = CASE WHEN $2 = 1 THEN NULL ELSE taken_at END, \
             taken_by = CASE WHEN $2 = 1 THEN NULL ELSE taken_by END, \
             resolved_at = CASE WHEN $2 = 1 THEN NULL ELSE resolved_at END, \
             resolved_by = CASE WHEN $2 = 1 THEN NULL ELSE resolved_by END, \
             due_at = CASE WHEN $2 = 1 THEN $3 ELSE due_at END WHERE id = $4",
        )
        .bind(now)
        .bind(i64::from(reopen))
        .bind(reopen_due)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        let incident = self
            .incident(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?;
        let ticket = if reopen {
            let row = sqlx::query(
                "UPDATE tickets SET status = 'open', resolved_at = NULL, updated_at = $1 WHERE id = $2 RETURNING *",
            )
            .bind(now)
            .bind(incident.ticket_id)
            .returning_optional(&mut *self.tx)
            .await?;
            row.as_ref().map(ticket_from).transpose()?
        } else {
            None
        };
        Ok((incident, ticket))
    }

    /// `by` takes incident `id` if it is open: the resolve timer runs until `due_at`, and
    /// `by` works its ticket. None when it is not open (taken meanwhile, resolved, none).
    pub async fn take_incident(
        &mut self,
        id: i64,
        by: &str,
        now: Millis,
        due_at: Millis,
    ) -> Result<Option<(Incident, Ticket)>, StoreError> {
        let taken = sqlx::query(
            "UPDATE incidents SET status = 'taken', taken_at = $1, taken_by = $2, due_at = $3, updated_at = $1 \
             WHERE id = $4 AND status = 'open' RETURNING id",
        )
        .bind(now)
        .bind(by)
        .bind(due_at)
        .bind(id)
        .returning_optional(&mut *self.tx)
        .await?;
        if taken.is_none() {
            return Ok(None);
        }
        let row = sqlx::query(
            "UPDATE tickets SET assignee = $1, status = CASE WHEN status = 'new' THEN 'open' ELSE status END, \
             first_response_at = COALESCE(first_response_at, CASE WHEN created_at > $2 THEN created_at ELSE $2 END), \
             updated_at = $2 WHERE id = (SELECT ticket_id FROM incidents WHERE id = $3) RETURNING *",
        )
        .bind(by)
        .bind(now)
        .bind(id)
        .returning_one(&mut *self.tx)
        .await?;
        let ticket = ticket_from(&row)?;
        self.incident_step_now(id, StepKind::Taken, by, now).await?;
        Ok(Some((self.expect_incident(id).await?, ticket)))
    }

    /// Resolves incident `id` (and its ticket) by `by` if it is not resolved yet.
    pub async fn resolve_incident(
        &mut self,
        id: i64,
        by: &str,
        now: Millis,
    ) -> Result<Option<(Incident, Ticket)>, StoreError> {
        let resolved = sqlx::query(
            "UPDATE incidents SET status = 'resolved', resolved_at = $1, resolved_by = $2, due_at = NULL, updated_at = $1 \
             WHERE id = $3 AND status IN ('open', 'taken') RETURNING id",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .returning_optional(&mut *self.tx)
        .await?;
        if resolved.is_none() {
            return Ok(None);
        }
        let row = sqlx::query(
            "UPDATE tickets SET status = 'resolved', \
             resolved_at = COALESCE(resolved_at, CASE WHEN created_at > $1 THEN created_at ELSE $1 END), \
             updated_at = $1 WHERE id = (SELECT ticket_id FROM incidents WHERE id = $2) RETURNING *",
        )
        .bind(now)
        .bind(id)
        .returning_one(&mut *self.tx)
        .await?;
        let ticket = ticket_from(&row)?;
        self.incident_step_now(id, StepKind::Resolved, by, now)
            .await?;
        Ok(Some((self.expect_incident(id).await?, ticket)))
    }

    /// A timer of an incident ran out ([`RanOut`]): with `up`, the incident and its ticket
    /// go one line up (the escalation note's reason `reason`) and the timer runs again until
    /// `up`'s time; without, it is marked overdue and no timer runs. None when the incident
    /// changed meanwhile (taken, resolved, another timer).
    pub async fn incident_timer_ran_out(
        &mut self,
        ran_out: &RanOut<'_>,
    ) -> Result<Option<(Incident, Option<(Ticket, Note)>)>, StoreError> {
        let RanOut {
            id,
            due_was,
            up,
            reason,
            by,
            now,
            webhook,
        } = *ran_out;
        let changed = sqlx::query(
            "UPDATE incidents SET line = COALESCE($1, line), due_at = $2, updated_at = $3 \
             WHERE id = $4 AND due_at = $5 AND status IN ('open', 'taken') RETURNING ticket_id",
        )
        .bind(up.map(|(line, _)| i64::from(line)))
        .bind(up.map(|(_, due)| due))
        .bind(now)
        .bind(id)
        .bind(due_was)
        .returning_optional(&mut *self.tx)
        .await?;
        let Some(changed) = changed else {
            return Ok(None);
        };
        let ticket_id: i64 = changed.try_get("ticket_id")?;
        let escalated = if up.is_some() {
            let escalation = Escalation {
                author: by,
                reason,
                now,
                webhook,
                unless_taken_from: None,
            };
            escalate_in(&mut self.tx, ticket_id, &escalation).await?
        } else {
            None
        };
        let kind = if up.is_some() {
            StepKind::Escalated
        } else {
            StepKind::Overdue
        };
        self.incident_step_now(id, kind, by, now).await?;
        Ok(Some((self.expect_incident(id).await?, escalated)))
    }

    async fn expect_incident(&mut self, id: i64) -> Result<Incident, StoreError> {
        self.incident(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))
    }

    /// A step on the incident's current line.
    async fn incident_step_now(
        &mut self,
        id: i64,
        kind: StepKind,
        by: &str,
        at: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO incident_steps (incident_id, kind, by_whom, line, at) \
             SELECT id, $1, $2, line, $3 FROM incidents WHERE id = $4",
        )
        .bind(kind.as_str())
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    /// A transaction for an incident's change, holding the database's write lock from its
    /// first statement: on SQLite a transaction that read first and then writes fails at
    /// once (`SQLITE_BUSY`) when another writer committed in between (CDR ingest does, all
    /// the time); taking the lock first waits for it instead (`busy_timeout`).
    pub async fn begin_incident(&self) -> Result<CallTx, StoreError> {
        let mut tx = self.begin_calls().await?;
        sqlx::query("UPDATE incidents SET updated_at = updated_at WHERE id = -1")
            .execute(&mut *tx.tx)
            .await?;
        Ok(tx)
    }

    /// One incident with its steps.
    pub async fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        match incident_on(&mut conn, id).await? {
            Some(incident) => Ok(with_steps(&mut conn, vec![incident]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Incidents not resolved, and those resolved since `since`, newest first (at most
    /// `limit`), with their steps.
    pub async fn incidents(&self, since: Millis, limit: u32) -> Result<Vec<Incident>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE i.status IN ('open', 'taken') OR i.resolved_at >= $1 \
             ORDER BY i.opened_at DESC, i.id DESC LIMIT $2"
        ))
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        let incidents = rows.iter().map(incident_from).collect::<Result<_, _>>()?;
        with_steps(&mut conn, incidents).await
    }

    /// The organizations with an incident not resolved, each once.
    pub async fn organizations_with_incidents(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT o.id, o.name FROM incidents i JOIN organizations o ON o.id = i.organization_id \
             WHERE i.status IN ('open', 'taken') ORDER BY o.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
            .collect()
    }

    /// The organization's incidents not resolved, newest first.
    pub async fn open_incidents_of(
        &self,
        organization_id: i64,
    ) -> Result<Vec<Incident>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE i.organization_id = $1 AND i.status IN ('open', 'taken') ORDER BY i.opened_at DESC, i.id DESC"
        ))
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Incidents whose timer ran out by `now`, oldest deadline first.
    pub async fn due_incidents(&self, now: Millis) -> Result<Vec<Incident>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE i.due_at IS NOT NULL AND i.due_at <= $1 AND i.status IN ('open', 'taken') \
             ORDER BY i.due_at, i.id"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Incidents opened in `[from, to)`, oldest first, with their steps (for the report).
    pub async fn incidents_opened(
        &self,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE i.opened_at >= $1 AND i.opened_at < $2 ORDER BY i.opened_at, i.id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        let incidents = rows.iter().map(incident_from).collect::<Result<_, _>>()?;
        with_steps(&mut conn, incidents).await
    }
}
