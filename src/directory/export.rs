//! Exporting the phone book as CSV, one kind of record per file, in exactly the columns
//! [`super::import`] reads, so that exporting and importing again gives the same records.
//! Numbers are written in E.164 with their kind (`mobile:+79161234567; work:+74951234567`).
//! Cells go through [`crate::spreadsheet`], so none opens as a formula; the importer takes
//! the guard off again.
//!
//! Records are read a page at a time (`Store::records_after`), so an export of any size holds
//! one page in memory; links are written as the linked record's external id (or, for an
//! organization, its name) and looked up once per linked record.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use super::import::Kind;
use super::model::{Asset, Contact, Id, Number, Organization, Owner};
use crate::spreadsheet;
use crate::store::{Record, Store, StoreError};

/// Records per page read from the store.
const PAGE: u32 = 1000;

/// What an export wrote, and what it could not express in the columns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub rows: u64,
    /// Records written without something that an import would need to restore (a link to an
    /// owner without an external id, a list item containing `;`). The rest of each record is
    /// written.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database error: {0}")]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Write(#[from] csv::Error),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes every record of `kind` to `output` as CSV with a header row. Writes are blocking.
pub async fn export<W: Write + Send>(
    store: &Store,
    kind: Kind,
    output: W,
) -> Result<ExportReport, ExportError> {
    let mut writer = spreadsheet::Writer::new(output);
    writer.write_row(kind.columns())?;
    let mut exporter = Exporter {
        writer,
        context: Context {
            store,
            links: Links::default(),
            warnings: Vec::new(),
        },
        rows: 0,
    };
    match kind {
        Kind::Contacts => exporter.all::<Contact>().await?,
        Kind::Organizations => exporter.all::<Organization>().await?,
        Kind::Assets => exporter.all::<Asset>().await?,
    }
    exporter.writer.flush()?;
    Ok(ExportReport {
        rows: exporter.rows,
        warnings: exporter.context.warnings,
    })
}

struct Exporter<'s, W: Write> {
    writer: spreadsheet::Writer<W>,
    context: Context<'s>,
    rows: u64,
}

/// What turning a record into fields needs besides the record.
struct Context<'s> {
    store: &'s Store,
    links: Links,
    warnings: Vec<String>,
}

impl Context<'_> {
    /// A `;`-separated list; an item that itself holds `;` would read back as two, so it is
    /// reported.
    fn joined(&mut self, items: &[String], item: &str, owner: &dyn Fn() -> String) -> String {
        for odd in items.iter().filter(|i| i.contains(';')) {
            self.warnings.push(format!(
                "{}: the {item} {odd:?} contains ';' and will read back as two",
                owner()
            ));
        }
        items.join("; ")
    }
}

impl<W: Write> Exporter<'_, W> {
    async fn all<R: Record + Columns>(&mut self) -> Result<(), ExportError> {
        let mut after = 0;
        loop {
            let page = self.context.store.records_after::<R>(after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id();
            for record in &page {
                let fields = record.fields(&mut self.context).await?;
                self.writer.write_row(&fields)?;
                self.rows += 1;
            }
        }
    }
}

/// A record as the import's columns, in their order.
trait Columns {
    async fn fields(&self, context: &mut Context<'_>) -> Result<Vec<String>, StoreError>;
}

impl Columns for Contact {
    async fn fields(&self, context: &mut Context<'_>) -> Result<Vec<String>, StoreError> {
        let what = || format!("contact {} ({})", self.id, self.display_name());
        let (organization, organization_id) = match self.organization_id {
            Some(id) => {
                let linked = context.links.organization(context.store, id).await?;
                (
                    linked.name.clone(),
                    linked.external_id.clone().unwrap_or_default(),
                )
            }
            None => Default::default(),
        };
        Ok(vec![
            self.external_id.clone().unwrap_or_default(),
            self.first_name.clone(),
            self.last_name.clone(),
            context.joined(&self.aliases, "alias", &what),
            organization,
            organization_id,
            phones(&self.numbers),
            context.joined(&self.emails, "e-mail", &what),
            yes_no(self.vip),
            self.priority.to_string(),
            self.language.clone().unwrap_or_default(),
            self.notes.clone(),
        ])
    }
}

impl Columns for Organization {
    async fn fields(&self, context: &mut Context<'_>) -> Result<Vec<String>, StoreError> {
        let what = || format!("organization {} ({})", self.id, self.name);
        Ok(vec![
            self.external_id.clone().unwrap_or_default(),
            self.name.clone(),
            phones(&self.numbers),
            context.joined(&self.emails, "e-mail", &what),
            context.joined(&self.fax_mailboxes, "fax mailbox", &what),
            yes_no(self.vip),
            self.priority.to_string(),
            self.notes.clone(),
        ])
    }
}

impl Columns for Asset {
    async fn fields(&self, context: &mut Context<'_>) -> Result<Vec<String>, StoreError> {
        let (owner_contact, owner_organization) = match self.owner {
            Owner::Nobody => Default::default(),
            Owner::Contact(id) => match context.links.contact(context.store, id).await? {
                Some(external_id) => (external_id.clone(), String::new()),
                None => {
                    context.warnings.push(format!(
                        "asset {} ({}): its owner, contact {id}, has no external id, so the link is not written",
                        self.id, self.name
                    ));
                    Default::default()
                }
            },
            Owner::Organization(id) => {
                let linked = context.links.organization(context.store, id).await?;
                let key = linked.external_id.as_ref().unwrap_or(&linked.name);
                (String::new(), key.clone())
            }
        };
        Ok(vec![
            self.external_id.clone().unwrap_or_default(),
            self.name.clone(),
            self.kind.clone(),
            self.serial.clone(),
            self.location.clone(),
            owner_contact,
            owner_organization,
            self.notes.clone(),
        ])
    }
}

/// What a link is written as, per linked record, looked up once.
#[derive(Default)]
struct Links {
    organizations: HashMap<Id, LinkedOrganization>,
    /// Contacts' external ids.
    contacts: HashMap<Id, Option<String>>,
}

struct LinkedOrganization {
    name: String,
    external_id: Option<String>,
}

/// Past this many entries a cache is emptied, so memory stays bounded.
const MAX_CACHED: usize = 100_000;

impl Links {
    async fn organization(
        &mut self,
        store: &Store,
        id: Id,
    ) -> Result<&LinkedOrganization, StoreError> {
        if !self.organizations.contains_key(&id) {
            let organization = store.record::<Organization>(id).await?;
            if self.organizations.len() >= MAX_CACHED {
                self.organizations.clear();
            }
            self.organizations.insert(
                id,
                LinkedOrganization {
                    name: organization.name,
                    external_id: organization.external_id,
                },
            );
        }
        self.organizations
            .get(&id)
            .ok_or_else(|| StoreError::NotFound(format!("organization {id}")))
    }

    async fn contact(&mut self, store: &Store, id: Id) -> Result<Option<&String>, StoreError> {
        if !self.contacts.contains_key(&id) {
            let contact = store.record::<Contact>(id).await?;
            if self.contacts.len() >= MAX_CACHED {
                self.contacts.clear();
            }
            self.contacts.insert(id, contact.external_id);
        }
        Ok(self.contacts.get(&id).and_then(Option::as_ref))
    }
}

/// `mobile:+79161234567; range:+7495123`: what the importer's `phones` column reads.
fn phones(numbers: &[Number]) -> String {
    numbers
        .iter()
        .map(|n| format!("{}:{}", n.kind.as_str(), n.number))
        .collect::<Vec<_>>()
        .join("; ")
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}
