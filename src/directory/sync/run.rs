//! Runs the configured sources one after the other (iTop, then LDAP, so LDAP's `company` can
//! find the organizations iTop brought), each pulled then applied, each with its own outcome:
//! one failing never stops the next. `periodically` is `serve`'s supervised task.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::apply::{apply, Namespace, SyncReport};
use super::itop::ItopSource;
use super::ldap::LdapSource;
use super::{Progress, Snapshot, SyncConfig, SyncError};
use crate::directory::number::Numbering;
use crate::directory::PhoneBook;
use crate::metrics::{
    Metrics, PHONEBOOK_SYNC_FAILED, PHONEBOOK_SYNC_LAST_RUN, PHONEBOOK_SYNC_LAST_SUCCESS,
    PHONEBOOK_SYNC_RECORDS,
};
use crate::store::Store;

/// A source, as `phonebook sync --source` and the reports name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceName {
    Itop,
    Ldap,
}

impl SourceName {
    /// In the order they run.
    pub const ALL: [SourceName; 2] = [SourceName::Itop, SourceName::Ldap];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Itop => "itop",
            SourceName::Ldap => "ldap",
        }
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceName {
    type Err = String;

    fn from_str(text: &str) -> Result<SourceName, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "itop" => Ok(SourceName::Itop),
            "ldap" => Ok(SourceName::Ldap),
            _ => Err(format!("{text:?} is not a source: itop or ldap")),
        }
    }
}

/// A configured source, ready to pull.
enum Source {
    Itop(ItopSource),
    Ldap(LdapSource),
}

impl Source {
    /// The source `name`, as configured; `None` when it is not.
    fn configured(config: &SyncConfig, name: SourceName) -> Option<Result<Source, SyncError>> {
        match name {
            SourceName::Itop => config
                .itop
                .as_ref()
                .map(|itop| ItopSource::new(itop).map(Source::Itop)),
            SourceName::Ldap => config
                .ldap
                .as_ref()
                .map(|ldap| LdapSource::new(ldap).map(Source::Ldap)),
        }
    }

    fn namespace(&self) -> Namespace {
        match self {
            Source::Itop(_) => Namespace::ITOP,
            Source::Ldap(_) => Namespace::LDAP,
        }
    }

    async fn pull(&self, progress: &dyn Progress) -> Result<Snapshot, SyncError> {
        match self {
            Source::Itop(source) => source.pull(progress).await,
            Source::Ldap(source) => source.pull(progress).await,
        }
    }
}

/// What syncing one source came to.
#[derive(Debug)]
pub struct Outcome {
    pub source: SourceName,
    /// Unix ms.
    pub started_at: i64,
    pub finished_at: i64,
    pub result: Result<SyncReport, SyncError>,
}

impl Outcome {
    /// Failed, or something was refused: what `phonebook sync` exits 1 for.
    pub fn is_clean(&self) -> bool {
        self.result
            .as_ref()
            .is_ok_and(|report| report.refused_count == 0)
    }
}

/// Syncs `only` that source, or every configured one, in [`SourceName::ALL`]'s order; each
/// source's progress goes to the `Progress` that `progress_for` gives for it. A source named by
/// `only` that is not configured is an outcome with the reason.
pub async fn run(
    config: &SyncConfig,
    store: &Store,
    numbering: &Numbering,
    only: Option<SourceName>,
    progress_for: &(dyn Fn(SourceName) -> Box<dyn Progress> + Sync),
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for name in SourceName::ALL {
        if only.is_some_and(|only| only != name) {
            continue;
        }
        let started_at = crate::clock::now();
        let result = match Source::configured(config, name) {
            None if only.is_some() => Err(SyncError::Source {
                source_name: name.as_str(),
                reason: format!("[phonebook.sync.{name}] is not configured"),
            }),
            None => continue,
            Some(Err(e)) => Err(e),
            Some(Ok(source)) => {
                let progress = progress_for(name);
                match source.pull(progress.as_ref()).await {
                    Ok(snapshot) => apply(store, numbering, source.namespace(), snapshot).await,
                    Err(e) => Err(e),
                }
            }
        };
        outcomes.push(Outcome {
            source: name,
            started_at,
            finished_at: crate::clock::now(),
            result,
        });
    }
    outcomes
}

/// Progress told to nobody: the service logs the outcome instead.
struct Quiet;

impl Progress for Quiet {
    fn fetched(&self, _: &'static str, _: usize, _: Option<usize>) {}
}

/// Refusals logged one by one after a periodic sync; the rest are counted.
const LOGGED_REFUSALS: usize = 20;

/// `serve`'s `phonebook-sync` task: every configured source at start and then every
/// `interval`, each outcome logged and put in the metrics, the phone book caught up right
/// after (calls are identified from the book meanwhile, never held up).
pub async fn periodically(
    config: SyncConfig,
    store: Store,
    phonebook: Arc<PhoneBook>,
    metrics: Arc<Metrics>,
    interval: Duration,
) {
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let outcomes = run(&config, &store, phonebook.numbering(), None, &|_| {
            Box::new(Quiet)
        })
        .await;
        // The book first, so that a run the metrics show is one callers are identified from.
        if let Err(e) = phonebook.catch_up(&store).await {
            tracing::warn!("phone book catch-up after the sync failed: {e}");
        }
        for outcome in &outcomes {
            log(outcome);
            record(&metrics, outcome);
        }
    }
}

fn log(outcome: &Outcome) {
    match &outcome.result {
        Ok(report) => {
            tracing::info!(source = %outcome.source, "phone-book sync: {}", report.summary());
            for refusal in report.refused.iter().take(LOGGED_REFUSALS) {
                tracing::warn!(source = %outcome.source, "phone-book sync refused {refusal}");
            }
            let more = report.refused_count.saturating_sub(LOGGED_REFUSALS as u64);
            if more > 0 {
                tracing::warn!(
                    source = %outcome.source,
                    "phone-book sync: {more} more refusals (`switchdesk phonebook sync` lists them all)"
                );
            }
            for warning in &report.warnings {
                tracing::warn!(source = %outcome.source, "phone-book sync: {warning}");
            }
        }
        Err(e) => tracing::error!(source = %outcome.source, "phone-book sync failed: {e}"),
    }
}

/// The outcome's series: when it ran, whether it failed, and the last report's counts
/// (organizations and contacts together) by outcome.
pub fn record(metrics: &Metrics, outcome: &Outcome) {
    let source = [("source", outcome.source.as_str())];
    let seconds = outcome.finished_at as f64 / 1000.0;
    let help = |name: &str| {
        crate::metrics::DOCUMENTED
            .iter()
            .find(|(documented, _, _)| *documented == name)
            .map_or("", |(_, help, _)| *help)
    };
    metrics.set(
        PHONEBOOK_SYNC_LAST_RUN,
        help(PHONEBOOK_SYNC_LAST_RUN),
        &source,
        seconds,
    );
    let failed = outcome.result.is_err();
    metrics.set(
        PHONEBOOK_SYNC_FAILED,
        help(PHONEBOOK_SYNC_FAILED),
        &source,
        f64::from(u8::from(failed)),
    );
    let Ok(report) = &outcome.result else { return };
    metrics.set(
        PHONEBOOK_SYNC_LAST_SUCCESS,
        help(PHONEBOOK_SYNC_LAST_SUCCESS),
        &source,
        seconds,
    );
    let (o, c) = (&report.organizations, &report.contacts);
    for (what, count) in [
        ("created", o.created + c.created),
        ("updated", o.updated + c.updated),
        ("unchanged", o.unchanged + c.unchanged),
        ("removed", o.removed + c.removed),
        ("restored", o.restored + c.restored),
        ("refused", report.refused_count),
    ] {
        metrics.set(
            PHONEBOOK_SYNC_RECORDS,
            help(PHONEBOOK_SYNC_RECORDS),
            &[("outcome", what), ("source", outcome.source.as_str())],
            count as f64,
        );
    }
}
