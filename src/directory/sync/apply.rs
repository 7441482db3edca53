//! One source's snapshot into the phone book: upserted by the source's own external ids,
//! numbers read the one way the importer reads them, and the source's records that the
//! snapshot no longer holds removed softly (kept, marked `removed_at`).
//!
//! It never drops anything silently: a number that cannot be read is left out of a record
//! stored with the rest, and the report names the record and the reason; a record that
//! cannot be stored at all (no name) is reported likewise. It must be handed a complete
//! snapshot: whatever the snapshot lacks is taken as removed at the source. SQL stays in
//! [`crate::store`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::{Snapshot, SourceContact, SourceNumber, SourceOrganization, SyncError};
use crate::directory::import::{
    not_stored, LinkError, Linker, OrganizationLink, BATCH, MAX_REPORTED_FAILURES,
};
use crate::directory::model::{Contact, Id, Number, NumberKind, Organization};
use crate::directory::number::Numbering;
use crate::directory::prepare;
use crate::store::{Removable, Store, StoreError};

/// Where one source's records live among the phone book's external ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// "itop" or "ldap", as [`SyncError::Source`] and the reports name it.
    pub source_name: &'static str,
    /// A contact's external id is this and the source's key: `ldap:<entryUUID>`.
    pub contacts: &'static str,
    /// Likewise for an organization, for a source that keeps organizations of its own (iTop);
    /// `None` for one that only names them (LDAP's `company`), whose organizations are found
    /// by name or created without an external id, and never removed by the sync.
    pub organizations: Option<&'static str>,
}

impl Namespace {
    pub const LDAP: Namespace = Namespace {
        source_name: "ldap",
        contacts: "ldap:",
        organizations: None,
    };
    pub const ITOP: Namespace = Namespace {
        source_name: "itop",
        contacts: "itop:person:",
        organizations: Some("itop:organization:"),
    };
}

/// What one kind of record went through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records in the snapshot.
    pub fetched: u64,
    pub created: u64,
    pub updated: u64,
    /// Stored already exactly so: not written again.
    pub unchanged: u64,
    /// Removed at the source since the last sync: marked removed.
    pub removed: u64,
    /// Back at the source after a removal: in use again (and updated if they changed).
    pub restored: u64,
    /// Not stored at all (see the refusals).
    pub not_stored: u64,
}

/// Something of a record the phone book did not take: a number (the record is stored without
/// it), a link, or the whole record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// `ldap:<entryUUID>`, `itop:person:34`.
    pub external_id: String,
    /// The record's name as the source gives it.
    pub name: String,
    /// `phones: "12" is not a valid number for RU, GB, US`.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.external_id, self.name, self.reason)
    }
}

/// What a sync of one source did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub source_name: &'static str,
    pub organizations: Counts,
    pub contacts: Counts,
    /// Organizations created because a contact named one that no organization has.
    pub organizations_created: Vec<String>,
    /// Every refusal counted; the first [`MAX_REPORTED_FAILURES`] are in `refused`.
    pub refused_count: u64,
    pub refused: Vec<Refusal>,
    /// What is worth knowing and refused nothing (a key given twice, everything removed).
    pub warnings: Vec<String>,
}

impl SyncReport {
    fn refuse(&mut self, external_id: &str, name: &str, reason: String) {
        self.refused_count += 1;
        if self.refused.len() < MAX_REPORTED_FAILURES {
            self.refused.push(Refusal {
                external_id: external_id.to_owned(),
                name: name.to_owned(),
                reason,
            });
        }
    }

    /// `ldap: contacts 120 fetched, 3 created, ...`: one line per kind the source has.
    pub fn summary(&self) -> String {
        let line = |what: &str, c: &Counts| {
            format!(
                "{}: {what} {} fetched, {} created, {} updated, {} unchanged, {} removed, \
                 {} restored, {} not stored",
                self.source_name,
                c.fetched,
                c.created,
                c.updated,
                c.unchanged,
                c.removed,
                c.restored,
                c.not_stored
            )
        };
        let mut lines = Vec::new();
        if self.organizations != Counts::default() {
            lines.push(line("organizations", &self.organizations));
        }
        lines.push(line("contacts", &self.contacts));
        if !self.organizations_created.is_empty() {
            lines.push(format!(
                "{}: organizations created from the names contacts gave: {}",
                self.source_name,
                self.organizations_created.join(", ")
            ));
        }
        lines.join("\n")
    }
}

/// Stores `snapshot`, the complete holding of the source `namespace` names, and reports what
/// changed. An `Err` is the database failing; what was written before stays written.
pub async fn apply(
    store: &Store,
    numbering: &Numbering,
    namespace: Namespace,
    snapshot: Snapshot,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport {
        source_name: namespace.source_name,
        ..SyncReport::default()
    };
    let organizations = match namespace.organizations {
        Some(prefix) => {
            apply_organizations(
                store,
                numbering,
                prefix,
                snapshot.organizations,
                &mut report,
            )
            .await?
        }
        None => {
            if !snapshot.organizations.is_empty() {
                report.warnings.push(format!(
                    "{} organizations of their own were left out: {} names its contacts' \
                     organizations only",
                    snapshot.organizations.len(),
                    namespace.source_name
                ));
            }
            HashMap::new()
        }
    };
    apply_contacts(
        store,
        numbering,
        namespace.contacts,
        &organizations,
        snapshot.contacts,
        &mut report,
    )
    .await?;
    Ok(report)
}

/// The source's numbers as stored: each read as the importer reads it, a refused one named in
/// `refused` with its reason; each number once.
fn read_numbers(
    numbering: &Numbering,
    written: &[SourceNumber],
    refused: &mut Vec<String>,
) -> Vec<Number> {
    let mut numbers: Vec<Number> = Vec::with_capacity(written.len());
    for source in written {
        match prepare::normalize_number(numbering, &source.text, source.kind) {
            Ok(number) if !numbers.iter().any(|n| n.number == number.number) => {
                numbers.push(number);
            }
            Ok(_) => {}
            Err(e) => refused.push(format!("phones: {e}")),
        }
    }
    numbers
}

fn emails(written: &[String]) -> Vec<String> {
    let mut emails: Vec<String> = Vec::with_capacity(written.len());
    for email in written.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if !emails.iter().any(|known| known.eq_ignore_ascii_case(email)) {
            emails.push(email.to_owned());
        }
    }
    emails
}

/// What the phone book keeps of its own beside the source's numbers: an organization's
/// ranges and fax lines (they route calls and faxes, and no source sends them).
fn local_numbers(stored: &[Number], from_source: &[Number]) -> Vec<Number> {
    stored
        .iter()
        .filter(|n| matches!(n.kind, NumberKind::Range | NumberKind::Fax))
        .filter(|n| !from_source.iter().any(|s| s.number == n.number))
        .cloned()
        .collect()
}

/// One record to write, or left as it is, and whether it comes back from a removal.
struct Planned<R> {
    record: R,
    external_id: String,
    name: String,
    /// The stored record it replaces.
    stored: Option<R>,
}

impl<R> Planned<R> {
    /// Reports the record's refused values, checks it as the API would (`prepare`), and adds
    /// it to `planned`; a record the check refuses is not stored, and counted so.
    fn check(
        self,
        refused: Vec<String>,
        planned: &mut Vec<Planned<R>>,
        counts: &mut Counts,
        report: &mut SyncReport,
        prepare: impl FnOnce(&mut R) -> Result<(), Vec<String>>,
    ) {
        for reason in refused {
            report.refuse(&self.external_id, &self.name, reason);
        }
        let mut plan = self;
        if let Err(problems) = prepare(&mut plan.record) {
            counts.not_stored += 1;
            report.refuse(
                &plan.external_id,
                &plan.name,
                format!("not stored: {}", problems.join("; ")),
            );
            return;
        }
        planned.push(plan);
    }
}

/// Per-kind bookkeeping of a snapshot against what the store held.
struct Ledger<R> {
    /// The source's stored records by external id.
    stored: HashMap<String, R>,
    seen: HashSet<String>,
}

impl<R: Removable + Clone> Ledger<R> {
    async fn read(store: &Store, prefix: &str) -> Result<Ledger<R>, StoreError> {
        let records: Vec<R> = store.records_with_external_prefix(prefix).await?;
        let stored = records
            .into_iter()
            .filter_map(|r| r.external_id().map(str::to_owned).map(|e| (e, r)))
            .collect();
        Ok(Ledger {
            stored,
            seen: HashSet::new(),
        })
    }

    /// False (and a warning) when the snapshot already had this key.
    fn first_sight(&mut self, external_id: &str, report: &mut SyncReport) -> bool {
        if self.seen.insert(external_id.to_owned()) {
            return true;
        }
        report.warnings.push(format!(
            "{external_id} is in the source twice: the first one was taken"
        ));
        false
    }

    /// The stored records the snapshot no longer has and that are still in use.
    fn gone(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = self
            .stored
            .iter()
            .filter(|(key, record)| !self.seen.contains(*key) && record.removed_at().is_none())
            .map(|(_, record)| record.id())
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Writes the planned records that changed, [`BATCH`] at a time, and puts removed ones back in
/// use; counts each. Returns the id of every record stored, by external id.
async fn write_planned<R: Removable + Clone + PartialEq>(
    store: &Store,
    planned: Vec<Planned<R>>,
    counts: &mut Counts,
    report: &mut SyncReport,
) -> Result<HashMap<String, Id>, StoreError> {
    let mut ids = HashMap::with_capacity(planned.len());
    let mut restore = Vec::new();
    for chunk in planned.chunks(BATCH) {
        let mut writes: Vec<&Planned<R>> = Vec::new();
        for plan in chunk {
            match &plan.stored {
                Some(stored) if *stored == plan.record => {
                    ids.insert(plan.external_id.clone(), stored.id());
                    if stored.removed_at().is_some() {
                        restore.push(stored.id());
                    } else {
                        counts.unchanged += 1;
                    }
                }
                _ => writes.push(plan),
            }
        }
        let records: Vec<R> = writes.iter().map(|p| p.record.clone()).collect();
        let results = store.save_records(&records).await?;
        for (plan, result) in writes.into_iter().zip(results) {
            match (result, &plan.stored) {
                (Ok(id), None) => {
                    ids.insert(plan.external_id.clone(), id);
                    counts.created += 1;
                }
                (Ok(id), Some(stored)) => {
                    ids.insert(plan.external_id.clone(), id);
                    if stored.removed_at().is_some() {
                        restore.push(id);
                    } else {
                        counts.updated += 1;
                    }
                }
                (Err(e), _) => {
                    counts.not_stored += 1;
                    report.refuse(&plan.external_id, &plan.name, not_stored(&e, "sync"));
                }
            }
        }
    }
    counts.restored = store.set_removed::<R>(&restore, None).await?;
    Ok(ids)
}

/// Marks the records of `ledger` the snapshot lacks as removed now.
async fn remove_gone<R: Removable + Clone>(
    store: &Store,
    ledger: &Ledger<R>,
    counts: &mut Counts,
    report: &mut SyncReport,
    what: &str,
) -> Result<(), StoreError> {
    let gone = ledger.gone();
    let in_use = ledger
        .stored
        .values()
        .filter(|r| r.removed_at().is_none())
        .count();
    if counts.fetched == 0 && !gone.is_empty() && gone.len() == in_use {
        report.warnings.push(format!(
            "the source holds no {what} now: all {} of them were marked removed (they come \
             back with the next sync that finds them)",
            gone.len()
        ));
    }
    counts.removed = store
        .set_removed::<R>(&gone, Some(crate::clock::now()))
        .await?;
    Ok(())
}

async fn apply_organizations(
    store: &Store,
    numbering: &Numbering,
    prefix: &str,
    source: Vec<SourceOrganization>,
    report: &mut SyncReport,
) -> Result<HashMap<String, Id>, StoreError> {
    let mut ledger: Ledger<Organization> = Ledger::read(store, prefix).await?;
    let mut counts = Counts {
        fetched: source.len() as u64,
        ..Counts::default()
    };
    let mut planned = Vec::with_capacity(source.len());
    for organization in source {
        let external_id = format!("{prefix}{}", organization.source_id);
        if !ledger.first_sight(&external_id, report) {
            counts.fetched -= 1;
            continue;
        }
        let name = shown(&organization.name);
        let stored = ledger.stored.get(&external_id).cloned();
        let mut refused = Vec::new();
        let numbers = read_numbers(numbering, &organization.numbers, &mut refused);
        let mut record = stored.clone().unwrap_or_default();
        record.external_id = Some(external_id.clone());
        record.name = organization.name.clone();
        record.numbers = local_numbers(&record.numbers, &numbers);
        record.numbers.splice(0..0, numbers);
        record.emails = emails(&organization.emails);
        let plan = Planned {
            record,
            external_id,
            name,
            stored,
        };
        plan.check(refused, &mut planned, &mut counts, report, |record| {
            prepare::organization(numbering, record)
        });
    }
    let ids = write_planned(store, planned, &mut counts, report).await?;
    remove_gone(store, &ledger, &mut counts, report, "organizations").await?;
    report.organizations = counts;
    // By the source's own key, as contacts name them.
    Ok(ids
        .into_iter()
        .filter_map(|(external_id, id)| Some((external_id.strip_prefix(prefix)?.to_owned(), id)))
        .collect())
}

/// The contact's organization: by the source's key among the organizations this sync stored
/// (`organizations`, by that key),
/// else by name (created when no organization has it). `Err` is why it is left unlinked.
async fn organization_of(
    linker: &mut Linker<'_>,
    organizations: &HashMap<String, Id>,
    contact: &SourceContact,
    report: &mut SyncReport,
) -> Result<Result<Option<Id>, String>, StoreError> {
    if let Some(key) = &contact.organization_source_id {
        if let Some(id) = organizations.get(key) {
            return Ok(Ok(Some(*id)));
        }
        if contact.organization_name.is_none() {
            return Ok(Err(format!(
                "organization: the source's organization {key:?} is not among those synced"
            )));
        }
    }
    let Some(name) = contact
        .organization_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return Ok(Ok(None));
    };
    let created_before = linker.organizations_created;
    let link = OrganizationLink {
        external_id: None,
        name: Some(name.to_owned()),
    };
    match linker.organization_of_contact(&link).await {
        Ok(id) => {
            if linker.organizations_created > created_before {
                report.organizations_created.push(name.to_owned());
            }
            Ok(Ok(id))
        }
        Err(LinkError::Row(why)) => Ok(Err(format!("organization: {why}"))),
        Err(LinkError::Store(e)) => Err(e),
    }
}

async fn apply_contacts(
    store: &Store,
    numbering: &Numbering,
    prefix: &str,
    organizations: &HashMap<String, Id>,
    source: Vec<SourceContact>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    let mut ledger: Ledger<Contact> = Ledger::read(store, prefix).await?;
    let mut linker = Linker::new(store);
    let mut counts = Counts {
        fetched: source.len() as u64,
        ..Counts::default()
    };
    let mut planned = Vec::with_capacity(source.len().min(BATCH));
    for contact in source {
        let external_id = format!("{prefix}{}", contact.source_id);
        if !ledger.first_sight(&external_id, report) {
            counts.fetched -= 1;
            continue;
        }
        let name = full_name(&contact);
        let stored = ledger.stored.get(&external_id).cloned();
        let mut refused = Vec::new();
        let numbers = read_numbers(numbering, &contact.numbers, &mut refused);
        let mut record = stored.clone().unwrap_or_default();
        record.external_id = Some(external_id.clone());
        record.first_name = contact.first_name.clone();
        record.last_name = contact.last_name.clone();
        record.numbers = numbers;
        record.emails = emails(&contact.emails);
        match organization_of(&mut linker, organizations, &contact, report).await? {
            Ok(id) => record.organization_id = id,
            Err(why) => {
                record.organization_id = None;
                refused.push(why);
            }
        }
        let plan = Planned {
            record,
            external_id,
            name,
            stored,
        };
        plan.check(refused, &mut planned, &mut counts, report, |record| {
            prepare::contact(numbering, record)
        });
    }
    write_planned(store, planned, &mut counts, report).await?;
    remove_gone(store, &ledger, &mut counts, report, "contacts").await?;
    report.contacts = counts;
    Ok(())
}

/// A record's name in the report: trimmed, and said to be missing rather than blank.
fn shown(name: &str) -> String {
    match name.trim() {
        "" => "no name".to_owned(),
        name => name.to_owned(),
    }
}

fn full_name(contact: &SourceContact) -> String {
    shown(&format!(
        "{} {}",
        contact.first_name.trim(),
        contact.last_name.trim()
    ))
}
