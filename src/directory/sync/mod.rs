//! The phone book kept in step with the systems of record: what every source hands over (a
//! whole `Snapshot` of organizations and contacts, numbers as the source wrote them), and the
//! framework that stores it (`apply`, `run`, `config`). Sources: `itop`, `ldap`.
use crate::directory::model::NumberKind;

/// A number as the source wrote it (unparsed: the sync validates it the one way the importer
/// does), and what the source calls it (iTop `phone` -> Work, `mobile_phone` -> Mobile;
/// LDAP `telephoneNumber` -> Work, `mobile` -> Mobile, `ipPhone` -> Extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceNumber {
    pub text: String,
    pub kind: NumberKind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceOrganization {
    /// The record's key in the source (iTop: the object key, "12").
    pub source_id: String,
    pub name: String,
    pub numbers: Vec<SourceNumber>,
    pub emails: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceContact {
    /// The record's key in the source (iTop: the Person's key; LDAP: entryUUID, else the DN).
    pub source_id: String,
    /// The organization's key in the same source, when the source links by key (iTop `org_id`).
    pub organization_source_id: Option<String>,
    /// The organization's name, when the source only names it (LDAP `company`).
    pub organization_name: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub numbers: Vec<SourceNumber>,
    pub emails: Vec<String>,
}

/// Everything one source holds now; what is not in it was removed at the source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub organizations: Vec<SourceOrganization>,
    pub contacts: Vec<SourceContact>,
}

/// Told as pages arrive, for the terminal's progress line and the service's log.
pub trait Progress: Send + Sync {
    /// `what` is "organizations" or "contacts"; `total` when the source says it.
    fn fetched(&self, what: &'static str, done: usize, total: Option<usize>);
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The source could not be read: unreachable, credentials refused, a reply not understood.
    /// `source_name` is "itop" or "ldap"; `reason` says what happened, never a password.
    #[error("{source_name}: {reason}")]
    Source {
        source_name: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

// ----- the framework ------------------------------------------------------------------------
//
// The phone book kept in step with the systems of record (iTop, LDAP / Active Directory): each
// source pulls a complete `Snapshot` (it never writes), `apply` stores it in the source's own
// namespace of external ids, and `run` pulls and applies every configured source in turn.
// Nothing here blocks a call: writes go through the store, and the running phone book picks
// them up through its catch-up. A failed or partial pull removes nothing.

pub mod apply;
pub mod config;
pub mod itop;
pub mod ldap;
pub mod run;

pub use apply::{apply, Namespace, Refusal, SyncReport};
pub use config::SyncConfig;
pub use run::{periodically, run, Outcome, SourceName};
