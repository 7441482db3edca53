//! Rows of fax to e-mail: stored documents (`files`), received faxes (`faxes`) and the durable
//! outbox. What a fax mail says and when a mail is retried is decided by [`crate::fax`] and
//! [`crate::mail`]; this module only keeps the rows, and keeps a fax and its mails together:
//! [`Store::record_fax`] writes them in one transaction, once per call UUID.

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::filter::Filter;
use super::write::Returning as _;
use super::{json, parse, Store, StoreError};
use crate::clock::{self, Millis};

/// A document to store (a fax's PDF, or the raw TIFF when it could not be converted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFile {
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A stored document, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredFile {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: Millis,
}

/// A received fax as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaxRecord {
    pub call_uuid: String,
    pub direction: String,
    pub did: String,
    pub caller_number: String,
    pub caller_name: String,
    pub pages: u32,
    pub success: bool,
    pub result_code: Option<i32>,
    pub result_text: String,
    pub remote_station: String,
    pub tiff_path: String,
    /// The PDF, once converted; `None` for a failed reception or an unreadable TIFF.
    pub pdf_file_id: Option<i64>,
    /// Unix ms.
    pub received_at: Millis,
    /// Why the document could not be kept as a PDF (refused, unreadable or unconvertible);
    /// empty when it was, or when the reception failed.
    pub document_error: String,
}

/// A mail to queue. `dedupe_key` names it for good: queueing the same key again does nothing,
/// and the `Message-ID` is derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    pub dedupe_key: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Attach this stored file (see [`Attach`]).
    pub attachment: Attach,
}

/// Which stored file a queued mail carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    Nothing,
    /// The document stored with the fax in the same [`Store::record_fax`] call.
    Document,
}

/// Where a mail is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Waiting for its next attempt.
    Pending,
    /// An SMTP server accepted it.
    Sent,
    /// Given up after the configured attempts; `POST /api/outbox/{id}/retry` queues it again.
    Failed,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<MailState> {
        match text {
            "pending" => Some(MailState::Pending),
            "sent" => Some(MailState::Sent),
            "failed" => Some(MailState::Failed),
            _ => None,
        }
    }
}

/// A mail in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OutboxMail {
    pub id: i64,
    pub dedupe_key: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachment_file_id: Option<i64>,
    pub state: MailState,
    pub attempts: u32,
    /// Unix ms.
    pub next_attempt_at: Millis,
    pub last_error: String,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
}

/// What [`Store::record_fax`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The fax, its document and its mails are stored; the document's file id.
    New { document: Option<i64> },
    /// A fax with this call UUID was recorded before; nothing was written.
    AlreadyRecorded,
}

const MAIL_COLUMNS: &str = "id, dedupe_key, recipients, subject, body, attachment_file_id, state, \
    attempts, next_attempt_at, last_error, created_at, sent_at";

const FAX_COLUMNS: &str = "call_uuid, direction, did, caller_number, caller_name, pages, success, \
    result_code, result_text, remote_station, tiff_path, pdf_file_id, received_at, document_error";

fn mail_from(row: &AnyRow) -> Result<OutboxMail, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(OutboxMail {
        id: row.try_get("id")?,
        dedupe_key: row.try_get("dedupe_key")?,
        recipients: parse(
            "outbox recipients",
            &row.try_get::<String, _>("recipients")?,
        )?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        attachment_file_id: row.try_get("attachment_file_id")?,
        state: MailState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("outbox state {state:?}")))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

fn fax_from(row: &AnyRow) -> Result<FaxRecord, StoreError> {
    Ok(FaxRecord {
        call_uuid: row.try_get("call_uuid")?,
        direction: row.try_get("direction")?,
        did: row.try_get("did")?,
        caller_number: row.try_get("caller_number")?,
        caller_name: row.try_get("caller_name")?,
        pages: u32::try_from(row.try_get::<i64, _>("pages")?).unwrap_or(0),
        success: row.try_get::<i64, _>("success")? != 0,
        result_code: row
            .try_get::<Option<i64>, _>("result_code")?
            .and_then(|c| i32::try_from(c).ok()),
        result_text: row.try_get("result_text")?,
        remote_station: row.try_get("remote_station")?,
        tiff_path: row.try_get("tiff_path")?,
        pdf_file_id: row.try_get("pdf_file_id")?,
        received_at: row.try_get("received_at")?,
        document_error: row.try_get("document_error")?,
    })
}

impl Store {
    /// Records a received fax, its document (if any) and the mails about it, all or nothing.
    /// `mails` is called inside the transaction with the document's id, so a mail can link to
    /// it. A call UUID already recorded writes nothing and answers
    /// [`Recorded::AlreadyRecorded`]: the ESL event and the CDR of the same fax yield one mail.
    pub async fn record_fax(
        &self,
        fax: &FaxRecord,
        document: Option<NewFile>,
        mails: impl FnOnce(Option<i64>) -> Vec<NewMail>,
    ) -> Result<Recorded, StoreError> {
        let now = clock::now();
        let mut tx = self.pool.begin().await?;
        // The fax row first: its primary key is the lock that makes a second delivery a no-op.
        let inserted = sqlx::query(
            "INSERT INTO faxes (call_uuid, direction, did, caller_number, caller_name, pages, \
             success, result_code, result_text, remote_station, tiff_path, received_at, \
             document_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (call_uuid) DO NOTHING",
        )
        .bind(fax.call_uuid.as_str())
        .bind(fax.direction.as_str())
        .bind(fax.did.as_str())
        .bind(fax.caller_number.as_str())
        .bind(fax.caller_name.as_str())
        .bind(i64::from(fax.pages))
        .bind(i64::from(fax.success))
        .bind(fax.result_code.map(i64::from))
        .bind(fax.result_text.as_str())
        .bind(fax.remote_station.as_str())
        .bind(fax.tiff_path.as_str())
        .bind(fax.received_at)
        .bind(fax.document_error.as_str())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Recorded::AlreadyRecorded);
        }
        let document_id = match document {
            Some(file) => {
                let id: i64 = sqlx::query(
                    "INSERT INTO files (name, content_type, size, content, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(file.name)
                .bind(file.content_type.clone())
                .bind(i64::try_from(file.content.len()).unwrap_or(i64::MAX))
                .bind(file.content)
                .bind(now)
                .returning_one(&mut *tx)
                .await?
                .try_get("id")?;
                if file.content_type == "application/pdf" {
                    sqlx::query("UPDATE faxes SET pdf_file_id = $2 WHERE call_uuid = $1")
                        .bind(fax.call_uuid.as_str())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                Some(id)
            }
            None => None,
        };
        for mail in mails(document_id) {
            let attachment = match mail.attachment {
                Attach::Nothing => None,
                Attach::Document => document_id,
            };
            sqlx::query(
                "INSERT INTO outbox (dedupe_key, recipients, subject, body, attachment_file_id, \
                 state, attempts, next_attempt_at, last_error, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, '', $6) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(mail.dedupe_key)
            .bind(json(&mail.recipients)?)
            .bind(mail.subject)
            .bind(mail.body)
            .bind(attachment)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Recorded::New {
            document: document_id,
        })
    }

    /// Whether a fax with this call UUID is recorded (a cheap check before converting it
    /// again; [`Store::record_fax`] is what decides).
    pub async fn fax_recorded(&self, call_uuid: &str) -> Result<bool, StoreError> {
        let found = sqlx::query("SELECT 1 FROM faxes WHERE call_uuid = $1")
            .bind(call_uuid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// The fax received on a call, if any.
    pub async fn fax_of_call(&self, call_uuid: &str) -> Result<Option<FaxRecord>, StoreError> {
        let sql = format!("SELECT {FAX_COLUMNS} FROM faxes WHERE call_uuid = $1");
        sqlx::query(&sql)
            .bind(call_uuid)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(fax_from)
            .transpose()
    }

    /// Received faxes, newest first; `before` (Unix ms) pages back.
    pub async fn faxes(
        &self,
        before: Option<Millis>,
        limit: u32,
    ) -> Result<Vec<FaxRecord>, StoreError> {
        let mut where_ = Filter::default();
        where_.before("received_at", before);
        let sql = format!(
            "SELECT {FAX_COLUMNS} FROM faxes{} ORDER BY received_at DESC, call_uuid DESC LIMIT {limit}",
            where_.sql()
        );
        let rows = where_.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(fax_from).collect()
    }

    /// A stored file's description and bytes.
    pub async fn file(&self, id: i64) -> Result<Option<(StoredFile, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, content_type, size, content, created_at FROM files WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let file = StoredFile {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size")?,
            created_at: row.try_get("created_at")?,
        };
        Ok(Some((file, row.try_get("content")?)))
    }

    /// Pending mails whose next attempt is due at `now`, oldest due first.
    pub async fn due_mails(&self, now: Millis, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mail_from).collect()
    }

    /// When the next pending mail is due (Unix ms), if any is pending.
    pub async fn next_mail_due(&self) -> Result<Option<Millis>, StoreError> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(next)
    }

    /// The SMTP server accepted the mail.
    pub async fn mail_sent(&self, id: i64, attempts: u32, at: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', attempts = $2, sent_at = $3, last_error = '' \
             WHERE id = $1",
        )
        .bind(id)
        .bind(i64::from(attempts))
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An attempt failed: try again at `next_attempt_at`, or give up (`retry_at: None`).
    pub async fn mail_attempt_failed(
        &self,
        id: i64,
        attempts: u32,
        retry_at: Option<Millis>,
        error: &str,
    ) -> Result<(), StoreError> {
        let (state, next) = match retry_at {
            Some(at) => (MailState::Pending, Some(at)),
            None => (MailState::Failed, None),
        };
        sqlx::query(
            "UPDATE outbox SET state = $2, attempts = $3, \
             next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(i64::from(attempts))
        .bind(next)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues a mail that was given up on (or is still pending) for a fresh round of attempts,
    /// now. `NotFound` if there is no such mail or it was already sent.
    pub async fn retry_mail(&self, id: i64) -> Result<OutboxMail, StoreError> {
        let sql = format!(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $2 \
             WHERE id = $1 AND state <> 'sent' RETURNING {MAIL_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(clock::now())
            .returning_optional(&self.pool)
            .await?;
        match row {
            Some(row) => mail_from(&row),
            // A sent mail is not sent twice.
            None => Err(StoreError::NotFound(format!("unsent mail {id}"))),
        }
    }

    pub async fn mail(&self, id: i64) -> Result<Option<OutboxMail>, StoreError> {
        let sql = format!("SELECT {MAIL_COLUMNS} FROM outbox WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(mail_from).transpose()
    }

    /// The outbox, newest first, optionally of one state; `before` (an id) pages back.
    pub async fn outbox(
        &self,
        state: Option<MailState>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let mut where_ = Filter::default();
        where_.eq_str("state", state.map(MailState::as_str));
        where_.before("id", before);
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM outbox{} ORDER BY id DESC LIMIT {limit}",
            where_.sql()
        );
        let rows = where_.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(mail_from).collect()
    }
}
