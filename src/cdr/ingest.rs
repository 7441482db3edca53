//! CDR ingest: a parsed CDR is stored with its document, linked into its call, and filed into
//! the tickets, all in one transaction; the caller hears back only after the commit, so
//! mod_xml_cdr's retries make ingest lossless, and a leg stored before changes nothing.
//!
//! One writer task does every ingest. It takes whatever CDRs are waiting (up to
//! [`MAX_BATCH`]) into one transaction — group commit: one durable flush for many POSTs
//! under load, one per POST when idle — and, being alone, files the two legs of a call one
//! after the other, never racing for the same ticket. A batch that fails is retried one CDR
//! per transaction, so one bad CDR fails only its own POST.
//!
//! The same path serves `POST /api/cdr` and `switchdesk cdr import`: a received fax the event
//! socket never reported (the service was down) is recorded and mailed from its CDR before
//! either hears back, so a backfill after an outage loses no fax.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, Notify};

use super::call::assemble;
use super::leg::{leg_of, Leg};
use super::Cdr;
use crate::directory::number::Numbering;
use crate::fax::{FaxDesk, FaxDeskError, FaxReceived};
use crate::store::{Store, StoreError};
use crate::supervise::{Policy, Tasks};
use crate::switch::CallerIdentity;
use crate::tickets::{file_call, TicketEvent, TicketRules};

/// Most CDRs committed in one transaction.
pub const MAX_BATCH: usize = 64;

/// CDRs waiting for the writer before POSTs wait for room.
const QUEUE: usize = 1024;

/// What became of a CDR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Stored; the call it belongs to, and the call's ticket once the call is known.
    Stored {
        call_id: String,
        ticket_id: Option<i64>,
    },
    /// This leg was stored before; nothing changed.
    Duplicate { call_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("CDR not stored: {0}")]
    Store(#[from] StoreError),
    #[error("CDR ingest has stopped")]
    Stopped,
    /// The CDR is stored, but the fax it reports is not recorded yet: the sender must try
    /// again (nothing is stored twice).
    #[error("fax from the CDR not recorded: {0}")]
    Fax(#[from] FaxDeskError),
}

/// What the writer needs besides the CDRs.
pub struct IngestSettings {
    pub store: Store,
    pub rules: TicketRules,
    /// Reads callers' numbers as E.164.
    pub numbering: Numbering,
    /// Identifies callers the switchboard did not (faxes, calls that bypassed the queues).
    pub identity: Arc<dyn CallerIdentity>,
    /// Ticket changes for the dashboard.
    pub events: broadcast::Sender<TicketEvent>,
    /// Set when a helpdesk webhook is configured: changes are queued and the worker woken.
    pub webhook: Option<Arc<Notify>>,
    /// Records and mails faxes found in CDRs; `None` where faxes are not handled (tests).
    pub fax: Option<FaxDesk>,
    /// Supervises the writer.
    pub tasks: Tasks,
}

struct Job {
    cdr: Arc<Cdr>,
    document: String,
    reply: oneshot::Sender<Result<Ingested, IngestError>>,
}

/// The handle POSTs and backfills hand CDRs to; cheap to clone.
#[derive(Clone)]
pub struct CdrIngest {
    jobs: mpsc::Sender<Job>,
    fax: Option<FaxDesk>,
}

impl CdrIngest {
    /// Starts the writer (supervised as `cdr-writer`); it runs until every handle is
    /// dropped. The queue outlives a panic of the writer, so a restarted writer takes the
    /// waiting CDRs; those of the batch in flight were answered 503 and are posted again.
    pub fn start(settings: IngestSettings) -> CdrIngest {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let fax = settings.fax.clone();
        let tasks = settings.tasks.clone();
        let settings = Arc::new(settings);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        tasks.spawn("cdr-writer", Policy::RestartOnPanic, move || {
            write(settings.clone(), queue.clone())
        });
        CdrIngest { jobs, fax }
    }

    /// Stores one CDR (`document` is the XML as received) and files its call; returns once
    /// the transaction is committed and any fax the CDR reports is recorded.
    pub async fn ingest(&self, cdr: Arc<Cdr>, document: String) -> Result<Ingested, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                cdr: cdr.clone(),
                document,
                reply,
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        let ingested = answer.await.map_err(|_| IngestError::Stopped)??;
        // The fax desk records a fax once per call UUID, so the event and the CDR of one fax,
        // or a CDR posted again, give one record and one mail.
        if let (Some(desk), Some(fax)) = (&self.fax, FaxReceived::from_cdr(&cdr)) {
            desk.receive(fax).await?;
        }
        Ok(ingested)
    }
}

async fn write(settings: Arc<IngestSettings>, queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    let settings = &*settings;
    let mut queue = queue.lock().await;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs: Vec<Job> = std::mem::take(&mut batch);
        match store_batch(settings, &jobs).await {
            Ok((results, events)) => finish(settings, jobs, results, events),
            Err(error) if jobs.len() == 1 => {
                tracing::warn!("CDR not stored: {error}");
                if let Some(job) = jobs.into_iter().next() {
                    let _ = job.reply.send(Err(IngestError::Store(error)));
                }
            }
            Err(error) => {
                tracing::warn!(
                    batch = jobs.len(),
                    "CDR batch not stored ({error}); storing one by one"
                );
                for job in jobs {
                    match store_batch(settings, std::slice::from_ref(&job)).await {
                        Ok((results, events)) => finish(settings, vec![job], results, events),
                        Err(error) => {
                            tracing::warn!(leg = %job.cdr.uuid, "CDR not stored: {error}");
                            let _ = job.reply.send(Err(IngestError::Store(error)));
                        }
                    }
                }
            }
        }
    }
}

fn finish(
    settings: &IngestSettings,
    jobs: Vec<Job>,
    results: Vec<Ingested>,
    events: Vec<TicketEvent>,
) {
    if !events.is_empty() {
        if let Some(webhook) = &settings.webhook {
            webhook.notify_one();
        }
    }
    for event in events {
        let _ = settings.events.send(event);
    }
    for (job, result) in jobs.into_iter().zip(results) {
        let _ = job.reply.send(Ok(result));
    }
}

/// Stores `jobs` in one transaction; every result, or the error that rolled them all back.
async fn store_batch(
    settings: &IngestSettings,
    jobs: &[Job],
) -> Result<(Vec<Ingested>, Vec<TicketEvent>), StoreError> {
    let now = crate::clock::now();
    let mut tx = settings.store.begin_calls().await?;
    let mut results = Vec::with_capacity(jobs.len());
    let mut events = Vec::new();
    for job in jobs {
        let leg = prepare(settings, &job.cdr);
        let call_id = leg.call_id.clone();
        if !tx
            .insert_leg(&leg, &job.cdr.core_uuid, &job.document, now)
            .await?
        {
            results.push(Ingested::Duplicate { call_id });
            continue;
        }
        let legs = tx.legs_of(&call_id).await?;
        let ticket_id = match assemble(&legs) {
            Some(mut call) => {
                let webhook = settings.webhook.is_some();
                events.extend(
                    file_call(&mut tx, &mut call, &legs, &settings.rules, webhook, now).await?,
                );
                call.ticket_id
            }
            None => None,
        };
        results.push(Ingested::Stored { call_id, ticket_id });
    }
    tx.commit().await?;
    Ok((results, events))
}

/// The leg, with the caller's number read as E.164 and, for a caller the switchboard never
/// identified, the phone book's identification.
fn prepare(settings: &IngestSettings, cdr: &Cdr) -> Leg {
    let mut leg = leg_of(cdr);
    leg.caller_e164 = settings.numbering.normalize(&leg.caller_number).ok();
    if leg.role().is_primary() && leg.identified.is_none() {
        let identity = settings
            .identity
            .identify(leg.caller_e164.as_deref(), &leg.caller_name);
        leg.identified = Some(identity.confidence.as_str().to_owned());
        leg.contact_id = identity.contact.map(|c| c.id);
        leg.organization_id = identity.organization.map(|o| o.id);
        leg.vip = identity.vip;
    }
    leg
}
