//! The fax desk: a completed reception in, a recorded fax and a queued mail out.
//!
//! For each [`FaxReceived`] it finds the mailboxes (the DID in `[fax] mailboxes`, else the
//! phone book organization that lists the DID as a fax number, else `fax.default_to`), turns
//! the TIFF into a PDF, and stores the fax, the document and the mail in one transaction,
//! once per call UUID: the ESL event and the CDR of the same fax give one mail. Then it wakes
//! the outbox. A fax is never lost to its document: an unreadable TIFF still gives a record
//! and a mail that says so. Never talks SMTP (that is [`crate::mail`]) and never touches SQL.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::sync::Semaphore;

use super::config::FaxConfig;
use super::notice::{self, Delivery, Outcome};
use super::received::FaxReceived;
use crate::directory::PhoneBook;
use crate::esl::ConnectionEvent;
use crate::mail::{is_mail_address, Outbox};
use crate::spool;
use crate::store::{FaxRecord, NewFile, Recorded, Store, StoreError};

/// What the desk needs on each node's event socket, besides the switchboard's events.
pub const EVENTS: &[&str] = &["CHANNEL_EXECUTE_COMPLETE"];

/// Conversions running at once; more faxes wait their turn.
const CONVERSIONS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum FaxDeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`FaxDesk::receive`] did with a fax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// Recorded now; `mailed_to` is empty when no mailbox was found (logged).
    Recorded {
        mailed_to: Vec<String>,
        document: Option<i64>,
    },
    /// This call's fax was recorded before (the event and the CDR of one fax).
    AlreadyRecorded,
}

/// Where the mailboxes of a fax came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxSource {
    Config,
    Organization(String),
    Default,
    Nobody,
}

struct Inner {
    store: Store,
    phonebook: Arc<PhoneBook>,
    config: FaxConfig,
    /// `config.mailboxes` keyed by E.164 too, for DIDs written another way.
    by_e164: HashMap<String, Vec<String>>,
    outbox: Outbox,
    converting: Semaphore,
}

/// Cheap to clone; share one per process.
#[derive(Clone)]
pub struct FaxDesk {
    inner: Arc<Inner>,
}

impl FaxDesk {
    pub fn new(
        store: Store,
        phonebook: Arc<PhoneBook>,
        config: FaxConfig,
        outbox: Outbox,
    ) -> FaxDesk {
        if !config.spool_dir.is_dir() {
            tracing::warn!(
                spool_dir = %config.spool_dir.display(),
                "fax.spool_dir is not a directory: every received fax will be recorded without its document"
            );
        }
        let by_e164 = config
            .mailboxes
            .iter()
            .filter_map(|(did, to)| {
                let e164 = phonebook.numbering().normalize(did).ok()?;
                Some((e164, to.clone()))
            })
            .collect();
        FaxDesk {
            inner: Arc::new(Inner {
                store,
                phonebook,
                config,
                by_e164,
                outbox,
                converting: Semaphore::new(CONVERSIONS),
            }),
        }
    }

    /// The outbox this desk queues into (to wake it after a retry).
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Where a fax to `did` is mailed, and why.
    pub fn mailboxes(&self, did: &str) -> (Vec<String>, MailboxSource) {
        let inner = &self.inner;
        let did = did.trim();
        if let Some(to) = inner.config.mailboxes.get(did) {
            return (to.clone(), MailboxSource::Config);
        }
        let e164 = inner.phonebook.numbering().normalize(did).ok();
        if let Some(to) = e164.as_ref().and_then(|n| inner.by_e164.get(n)) {
            return (to.clone(), MailboxSource::Config);
        }
        if let Some((organization, to)) = e164.and_then(|n| inner.phonebook.fax_mailboxes(&n)) {
            // The phone book is typed by people: skip what is not an address.
            let to: Vec<String> = to.into_iter().filter(|a| is_mail_address(a)).collect();
            if !to.is_empty() {
                return (to, MailboxSource::Organization(organization));
            }
        }
        if inner.config.default_to.is_empty() {
            (Vec::new(), MailboxSource::Nobody)
        } else {
            (inner.config.default_to.clone(), MailboxSource::Default)
        }
    }

    /// Records the fax and queues its mail; idempotent per call UUID. An error means nothing
    /// was recorded (the database is unreachable): the CDR's later delivery tries again.
    pub async fn receive(&self, fax: FaxReceived) -> Result<Receipt, FaxDeskError> {
        let inner = &self.inner;
        if inner.store.fax_recorded(&fax.call_uuid).await? {
            return Ok(Receipt::AlreadyRecorded);
        }
        let (recipients, source) = self.mailboxes(&fax.did);
        let (outcome, document) = self.document(&fax).await;
        let delivery = match &document {
            None => Delivery::Nothing,
            Some(file) if file.content.len() <= inner.config.attach_limit_bytes => {
                Delivery::Attached
            }
            // The link needs the file's id: decided inside the transaction.
            Some(_) => Delivery::Link(String::new()),
        };
        let record = FaxRecord {
            call_uuid: fax.call_uuid.clone(),
            direction: fax.direction.clone(),
            did: fax.did.clone(),
            caller_number: fax.caller_number.clone(),
            caller_name: fax.caller_name.clone(),
            pages: match &outcome {
                Outcome::Converted { pages } => u32::try_from(*pages).unwrap_or(u32::MAX),
                _ => fax.pages,
            },
            success: fax.success,
            result_code: fax.result_code,
            result_text: fax.result_text.clone().unwrap_or_default(),
            remote_station: fax.remote_station.clone().unwrap_or_default(),
            tiff_path: fax
                .tiff_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            pdf_file_id: None,
            received_at: fax.received_at,
            document_error: outcome.problem().unwrap_or_default().to_owned(),
        };
        let public_url = inner.config.public_url.trim_end_matches('/').to_owned();
        let to = recipients.clone();
        let recorded = inner
            .store
            .record_fax(&record, document, |file_id| {
                if to.is_empty() {
                    return Vec::new();
                }
                let delivery = match (delivery, file_id) {
                    (Delivery::Link(_), Some(id)) => {
                        Delivery::Link(format!("{public_url}/api/files/{id}"))
                    }
                    (Delivery::Link(_), None) => Delivery::Nothing,
                    (other, _) => other,
                };
                vec![notice::compose(
                    &fax,
                    &outcome,
                    &delivery,
                    to,
                    inner.config.language,
                )]
            })
            .await?;
        match recorded {
            Recorded::AlreadyRecorded => Ok(Receipt::AlreadyRecorded),
            Recorded::New { document } => {
                match &source {
                    MailboxSource::Nobody => tracing::warn!(
                        call = %record.call_uuid,
                        did = %record.did,
                        "fax recorded, but no mailbox is configured for its DID and fax.default_to is empty"
                    ),
                    source => {
                        tracing::info!(call = %record.call_uuid, did = %record.did, success = record.success, pages = record.pages, ?source, "fax recorded and queued for mail");
                        inner.outbox.wake();
                    }
                }
                Ok(Receipt::Recorded {
                    mailed_to: recipients,
                    document,
                })
            }
        }
    }

    /// The document to store, and what became of it. The file rxfax named is read only from
    /// inside `fax.spool_dir` (see [`crate::spool`]) and only if it starts like a TIFF: any
    /// other file is refused, never stored or mailed, and the fax is recorded with the reason.
    async fn document(&self, fax: &FaxReceived) -> (Outcome, Option<NewFile>) {
        if !fax.success {
            return (Outcome::Failed, None);
        }
        let Some(path) = fax.tiff_path.clone() else {
            return unreadable(fax, "rxfax reported no file name".into());
        };
        let config = &self.inner.config;
        // The turn is taken before the read, so only the faxes being converted are in memory.
        let _turn = self.inner.converting.acquire().await;
        let tiff: std::sync::Arc<[u8]> = match spool::read_async(
            config.spool_dir.clone(),
            path.clone(),
            config.max_tiff_bytes,
        )
        .await
        {
            Ok(bytes) if super::tiff::is_tiff(&bytes) => bytes.into(),
            Ok(_) => {
                return unreadable(fax, format!("{} is not a TIFF file", path.display()));
            }
            Err(e) => return unreadable(fax, e.to_string()),
        };
        let title = config.language.fax_title(&fax.caller(config.language));
        let converted = {
            let tiff = tiff.clone();
            tokio::task::spawn_blocking(move || super::tiff_to_pdf(&tiff, Some(&title))).await
        };
        match converted {
            Ok(Ok(pdf)) => (
                Outcome::Converted {
                    pages: pdf.pages.len(),
                },
                Some(NewFile {
                    name: notice::file_name(fax, "pdf"),
                    content_type: "application/pdf".into(),
                    content: pdf.bytes,
                }),
            ),
            Ok(Err(e)) => unconvertible(e.to_string(), fax, tiff.to_vec()),
            Err(e) => unconvertible(format!("the converter stopped: {e}"), fax, tiff.to_vec()),
        }
    }
}

/// A fax whose file was refused or could not be read: nothing of it is stored.
fn unreadable(fax: &FaxReceived, reason: String) -> (Outcome, Option<NewFile>) {
    tracing::warn!(call = %fax.call_uuid, %reason, "fax document not read");
    (Outcome::Unreadable { reason }, None)
}

/// A TIFF that could not be converted: the raw TIFF (checked to be one) is kept.
fn unconvertible(reason: String, fax: &FaxReceived, tiff: Vec<u8>) -> (Outcome, Option<NewFile>) {
    let raw = Some(tiff)
        .filter(|bytes| super::tiff::is_tiff(bytes))
        .map(|bytes| NewFile {
            name: notice::file_name(fax, "tif"),
            content_type: "image/tiff".into(),
            content: bytes,
        });
    (
        Outcome::Unconvertible {
            reason,
            raw_kept: raw.is_some(),
        },
        raw,
    )
}

/// Feeds one node's completed receptions to the desk. Never blocks the event socket: each
/// fax is handled on its own task. Events missed here (the consumer fell behind, or the
/// service was down) reach the desk through the CDR.
pub async fn watch_node(mut events: Receiver<ConnectionEvent>, desk: FaxDesk, node: String) {
    loop {
        match events.recv().await {
            Ok(ConnectionEvent::Events(batch)) => {
                for fax in batch.iter().filter_map(FaxReceived::from_event) {
                    let desk = desk.clone();
                    let node = node.clone();
                    tokio::spawn(async move {
                        let call = fax.call_uuid.clone();
                        if let Err(e) = desk.receive(fax).await {
                            tracing::error!(%node, %call, "fax not recorded (the CDR will retry): {e}");
                        }
                    });
                }
            }
            Ok(_) => {}
            Err(RecvError::Lagged(skipped)) => tracing::warn!(
                %node,
                skipped,
                "fax desk fell behind the event socket; missed faxes arrive with their CDRs"
            ),
            Err(RecvError::Closed) => break,
        }
    }
}
