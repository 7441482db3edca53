//! Importing the phone book: contacts, organizations or assets from a CSV file, contacts from
//! vCard 3.0/4.0 (2.1 read leniently). Owns the file formats' columns, the batching and the
//! links between records (a contact's organization, an asset's owner).
//!
//! It must never hold the whole input in memory (lines and records are bounded, rows are saved
//! in batches of [`BATCH`]), never stop at a bad row, and never drop anything silently: every
//! row read is either saved or listed among the failures with its line number and the reason,
//! and every value left out of a saved row is listed among the warnings with its line. The
//! only values ever left out of a saved row are numbers that cannot be read (a number is never
//! guessed, see [`Numbering`]): the row is stored with its other values and its other numbers.
//! Any other bad value (a name missing, an e-mail, a yes/no, a link) refuses the whole row.
//! A file's columns that are not read are listed once, in [`ImportReport::ignored_columns`].
//! SQL stays in [`crate::store`]; this module only calls it.
//!
//! Records with an external id are upserted by it, so importing a file again updates in place;
//! a re-imported row replaces every field of the stored record.

mod columns;
mod csv;
mod fields;
mod lines;
mod vcard;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

use crate::directory::model::{Asset, Contact, Id, Organization, Owner};
use crate::directory::number::Numbering;
use crate::store::{Record, Store, StoreError};

pub use columns::{synonyms, ColumnMap, MapError, Target};

/// Contact columns, in the order `export` writes them. `organization` is the organization's
/// exact name, `organization_id` its *external* id (the key of the system the file came
/// from, not switchdesk's id). `aliases` are `;`-separated, `emails` `;`- or `,`-separated;
/// `phones` is `kind:number` entries separated by `;` or `,` (a bare number is `work`; kinds
/// are mobile, work, home, fax, main, range, extension, other); `vip` is yes/no, true/false or
/// 1/0; `priority` a whole number; `language` a tag like `ru` or `en-GB`. Every column but a
/// name may be left out of the header; other systems' names for them are read too (see
/// [`synonyms`]).
pub const CONTACT_COLUMNS: &[&str] = &[
    "external_id",
    "first_name",
    "last_name",
    "aliases",
    "organization",
    "organization_id",
    "phones",
    "emails",
    "vip",
    "priority",
    "language",
    "notes",
];

/// Organization columns. A bare number in `phones` is the switchboard (`main`); `range:` entries
/// are number blocks (E.164 prefixes). `fax_mailboxes` are where received faxes are mailed.
pub const ORGANIZATION_COLUMNS: &[&str] = &[
    "external_id",
    "name",
    "phones",
    "emails",
    "fax_mailboxes",
    "vip",
    "priority",
    "notes",
];

/// Asset columns. `type` is free text (server, printer...). An asset has at most one owner:
/// `owner_contact` is a contact's external id, `owner_organization` an organization's
/// external id or exact name.
pub const ASSET_COLUMNS: &[&str] = &[
    "external_id",
    "name",
    "type",
    "serial",
    "location",
    "owner_contact",
    "owner_organization",
    "notes",
];

/// Rows per transaction: large enough that commits do not dominate, small enough that a
/// batch falling back to one-by-one saves (after a bad record) stays cheap.
pub const BATCH: usize = 500;

/// Failures kept in [`ImportReport::failures`], and warnings in [`ImportReport::warnings`];
/// the rest are counted (and were shown to the progress callback), so a file of garbage
/// cannot fill the memory with error messages.
pub const MAX_REPORTED_FAILURES: usize = 10_000;

/// Which records a file holds; one file holds one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Contacts,
    Organizations,
    Assets,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Contacts => "contacts",
            Kind::Organizations => "organizations",
            Kind::Assets => "assets",
        }
    }

    /// The CSV columns of this kind (see [`CONTACT_COLUMNS`] and the others).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Contacts => CONTACT_COLUMNS,
            Kind::Organizations => ORGANIZATION_COLUMNS,
            Kind::Assets => ASSET_COLUMNS,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names neither a kind nor a format.
#[derive(Debug, thiserror::Error)]
#[error("{given:?} is not one of: {expected}")]
pub struct UnknownName {
    given: String,
    expected: &'static str,
}

impl FromStr for Kind {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Kind, UnknownName> {
        match text.trim().to_ascii_lowercase().as_str() {
            "contacts" | "contact" => Ok(Kind::Contacts),
            "organizations" | "organization" | "organisations" | "organisation" => {
                Ok(Kind::Organizations)
            }
            "assets" | "asset" => Ok(Kind::Assets),
            _ => Err(UnknownName {
                given: text.to_owned(),
                expected: "contacts, organizations, assets",
            }),
        }
    }
}

/// How the input is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    VCard,
    /// vCard if the input starts with `BEGIN:VCARD`, else CSV.
    Auto,
}

impl Format {
    /// By the file name's extension (`.vcf`, `.vcard`, `.csv`, `.tsv`, `.txt`); `Auto` otherwise.
    pub fn from_path(path: &Path) -> Format {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("vcf" | "vcard") => Format::VCard,
            Some("csv" | "tsv" | "txt") => Format::Csv,
            _ => Format::Auto,
        }
    }
}

impl FromStr for Format {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Format, UnknownName> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "vcard" | "vcf" => Ok(Format::VCard),
            "auto" => Ok(Format::Auto),
            _ => Err(UnknownName {
                given: text.to_owned(),
                expected: "csv, vcard, auto",
            }),
        }
    }
}

/// A row that was not saved, or was saved with something left out: where it starts in the
/// file (for CSV the physical line the record starts on, the header being line 1; for vCard
/// the `BEGIN:VCARD` line) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

impl RowError {
    fn new(line: u64, reason: impl Into<String>) -> RowError {
        RowError {
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What an import did. `rows` = `saved` + `failed`, always; `warned` rows are among the
/// `saved`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kind: Kind,
    /// The file's columns that were not read (unknown to the kind, or a second name for a
    /// column the file already has), as the file names them; one warning for the whole file.
    pub ignored_columns: Vec<String>,
    /// Records read, good and bad (for vCard: cards, and runs of text outside any card).
    pub rows: u64,
    pub saved: u64,
    /// `saved` split by how much the table grew during the import. Counted from the table's
    /// size before and after, so records another writer adds or removes meanwhile count too.
    pub created: u64,
    pub updated: u64,
    /// Saved rows without an external id: they are always added, so importing the same file
    /// again adds them again.
    pub without_external_id: u64,
    /// Organizations created because a contact named one that did not exist.
    pub organizations_created: u64,
    pub failed: u64,
    /// The first [`MAX_REPORTED_FAILURES`] failures, in file order.
    pub failures: Vec<RowError>,
    /// Rows saved with something left out (a number that cannot be read).
    pub warned: u64,
    /// The first [`MAX_REPORTED_FAILURES`] warnings, in file order: what each warned row was
    /// saved without, and why.
    pub warnings: Vec<RowError>,
}

/// Reported after every batch.
#[derive(Debug)]
pub struct Progress<'a> {
    /// Bytes of the input consumed, for a progress bar against the file's size.
    pub bytes_read: u64,
    pub rows: u64,
    pub saved: u64,
    pub failed: u64,
    pub warned: u64,
    /// The failures of this batch, in file order: every failure passes here exactly once,
    /// including those beyond [`MAX_REPORTED_FAILURES`].
    pub new_failures: &'a [RowError],
    /// The warnings of this batch, likewise.
    pub new_warnings: &'a [RowError],
}

/// Why an import stopped as a whole (a bad row never stops it).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input: {0}")]
    Read(#[from] io::Error),
    #[error("the input is empty")]
    Empty,
    #[error("the header (line {line}) is unreadable: {reason}")]
    Header { line: u64, reason: String },
    #[error(
        "cannot tell contacts, organizations or assets from the columns {columns:?}; name the kind"
    )]
    UnknownKind { columns: Vec<String> },
    #[error("column {0:?} appears twice")]
    DuplicateColumn(String),
    #[error(
        "{kind} need a {column} column{}; the columns are: {}",
        ignored_note(.ignored),
        .kind.columns().join(", ")
    )]
    MissingColumn {
        kind: Kind,
        column: &'static str,
        /// The file's columns that are not columns of `kind`.
        ignored: Vec<String>,
    },
    #[error("the column map names {column}, which {kind} do not have; their columns are: {}", .kind.columns().join(", "))]
    MapTarget { kind: Kind, column: &'static str },
    #[error("a column map is for CSV files; a vCard file names its own properties")]
    MapForVCard,
    #[error("a vCard file holds contacts, not {0}")]
    NotContacts(Kind),
    #[error("database error after {saved} rows were saved: {source}")]
    Store {
        saved: u64,
        #[source]
        source: StoreError,
    },
}

fn ignored_note(ignored: &[String]) -> String {
    if ignored.is_empty() {
        String::new()
    } else {
        format!(" (the file's {ignored:?} are not among them)")
    }
}

/// A row as read, before its links to other records are resolved to ids.
#[derive(Debug)]
enum Row {
    Contact(Contact, OrganizationLink),
    Organization(Organization),
    Asset(Asset, OwnerLink),
}

impl Row {
    fn has_external_id(&self) -> bool {
        match self {
            Row::Contact(contact, _) => contact.external_id.is_some(),
            Row::Organization(organization) => organization.external_id.is_some(),
            Row::Asset(asset, _) => asset.external_id.is_some(),
        }
    }
}

/// A contact's organization as the file (or a synchronised source) names it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OrganizationLink {
    pub(crate) external_id: Option<String>,
    pub(crate) name: Option<String>,
}

/// An asset's owner as the file names it (at most one is set; the reader checks).
#[derive(Debug, Default, PartialEq, Eq)]
struct OwnerLink {
    contact: Option<String>,
    /// An external id or an exact name.
    organization: Option<String>,
}

/// A row read: where it starts, and what was left out of it (each reason names its column).
#[derive(Debug)]
struct ReadRow {
    line: u64,
    row: Row,
    left_out: Vec<String>,
}

/// A row read, or why it could not be; `Ok(None)` at the end of the input.
type NextRow = Result<Option<Result<ReadRow, RowError>>, ImportError>;

enum Source<R> {
    Csv(csv::CsvSource<R>),
    VCard(Box<vcard::VCardSource<R>>),
}

impl<R: BufRead> Source<R> {
    /// Opens the input: detects the format if asked to, reads and checks a CSV header.
    fn open(
        mut input: R,
        format: Format,
        kind: Option<Kind>,
        map: &ColumnMap,
        numbering: Numbering,
    ) -> Result<Source<R>, ImportError> {
        let format = match format {
            Format::Auto if looks_like_vcard(input.fill_buf()?) => Format::VCard,
            Format::Auto => Format::Csv,
            format => format,
        };
        match (format, kind) {
            (Format::VCard, _) if !map.is_empty() => Err(ImportError::MapForVCard),
            (Format::VCard, None | Some(Kind::Contacts)) => Ok(Source::VCard(Box::new(
                vcard::VCardSource::new(input, numbering),
            ))),
            (Format::VCard, Some(other)) => Err(ImportError::NotContacts(other)),
            _ => Ok(Source::Csv(csv::CsvSource::open(
                input, kind, map, numbering,
            )?)),
        }
    }

    fn ignored_columns(&self) -> Vec<String> {
        match self {
            Source::Csv(source) => source.ignored_columns().to_vec(),
            Source::VCard(_) => Vec::new(),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Source::Csv(source) => source.kind(),
            Source::VCard(_) => Kind::Contacts,
        }
    }

    fn next_row(&mut self) -> NextRow {
        match self {
            Source::Csv(source) => source.next_row(),
            Source::VCard(source) => source.next_row(),
        }
    }

    fn bytes_read(&self) -> u64 {
        match self {
            Source::Csv(source) => source.bytes_read(),
            Source::VCard(source) => source.bytes_read(),
        }
    }
}

fn looks_like_vcard(start: &[u8]) -> bool {
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let start = &start[start.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    start
        .get(..11)
        .is_some_and(|s| s.eq_ignore_ascii_case(b"BEGIN:VCARD"))
}

/// Imports `input` into the store, [`BATCH`] rows at a time: a batch is parsed (synchronous
/// work on the calling task, reading `input` with blocking reads, so a server hands it a body
/// it already holds or a file), its links resolved, then saved in one transaction, before the
/// next batch is read. `kind` overrides what a CSV header suggests; vCard holds contacts
/// only. `map` names a CSV file's columns (see [`ColumnMap`]). Numbers are normalized by
/// `numbering`.
///
/// Bad rows are in the report, never an `Err`; an `Err` means the input could not be read at
/// all (or its header is wrong, or `map` does not fit it) or the database failed, and what
/// was saved before stays saved.
pub async fn import<R: Read + Send>(
    store: &Store,
    numbering: &Numbering,
    input: R,
    format: Format,
    kind: Option<Kind>,
    map: &ColumnMap,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<ImportReport, ImportError> {
    let input = BufReader::with_capacity(64 * 1024, input);
    let mut source = Source::open(input, format, kind, map, numbering.clone())?;
    let kind = source.kind();
    let size_before = table_size(store, kind, 0).await?;
    let mut report = ImportReport {
        kind,
        ignored_columns: source.ignored_columns(),
        rows: 0,
        saved: 0,
        created: 0,
        updated: 0,
        without_external_id: 0,
        organizations_created: 0,
        failed: 0,
        failures: Vec::new(),
        warned: 0,
        warnings: Vec::new(),
    };
    let mut linker = Linker::new(store);
    loop {
        let mut failures = Vec::new();
        let mut warnings = Vec::new();
        let (rows, finished) = read_batch(&mut source, &mut failures)?;
        report.rows += (rows.len() + failures.len()) as u64;
        save_batch(
            store,
            &mut linker,
            rows,
            &mut report,
            &mut failures,
            &mut warnings,
        )
        .await?;
        failures.sort_by_key(|f| f.line);
        warnings.sort_by_key(|w| w.line);
        report.failed += failures.len() as u64;
        report.warned += warnings.len() as u64;
        progress(Progress {
            bytes_read: source.bytes_read(),
            rows: report.rows,
            saved: report.saved,
            failed: report.failed,
            warned: report.warned,
            new_failures: &failures,
            new_warnings: &warnings,
        });
        keep_first(&mut report.failures, failures);
        keep_first(&mut report.warnings, warnings);
        if finished {
            break;
        }
    }
    let size_after = table_size(store, kind, report.saved).await?;
    report.created = size_after.saturating_sub(size_before).min(report.saved);
    report.updated = report.saved - report.created;
    report.organizations_created = linker.organizations_created;
    Ok(report)
}

/// Adds `more` to `kept` up to [`MAX_REPORTED_FAILURES`].
fn keep_first(kept: &mut Vec<RowError>, more: Vec<RowError>) {
    let room = MAX_REPORTED_FAILURES.saturating_sub(kept.len());
    kept.extend(more.into_iter().take(room));
}

async fn table_size(store: &Store, kind: Kind, saved: u64) -> Result<u64, ImportError> {
    let size = match kind {
        Kind::Contacts => store.count_records::<Contact>().await,
        Kind::Organizations => store.count_records::<Organization>().await,
        Kind::Assets => store.count_records::<Asset>().await,
    };
    size.map_err(|source| ImportError::Store { saved, source })
}

/// Up to [`BATCH`] good rows; bad ones go to `failures`. `true` when the input is finished.
fn read_batch<R: BufRead>(
    source: &mut Source<R>,
    failures: &mut Vec<RowError>,
) -> Result<(Vec<ReadRow>, bool), ImportError> {
    let mut rows = Vec::with_capacity(BATCH);
    while rows.len() < BATCH && failures.len() < BATCH {
        match source.next_row()? {
            None => return Ok((rows, true)),
            Some(Ok(row)) => rows.push(row),
            Some(Err(failure)) => failures.push(failure),
        }
    }
    Ok((rows, false))
}

/// Resolves the rows' links, then saves them in one transaction (see
/// [`Store::save_records`]). A row whose link cannot be resolved, or that the database
/// refuses, joins `failures` (with what was left out of it); a row saved with something left
/// out joins `warnings`.
async fn save_batch(
    store: &Store,
    linker: &mut Linker<'_>,
    rows: Vec<ReadRow>,
    report: &mut ImportReport,
    failures: &mut Vec<RowError>,
    warnings: &mut Vec<RowError>,
) -> Result<(), ImportError> {
    let saved = report.saved;
    let store_error = |source| ImportError::Store { saved, source };
    let mut lines = Vec::with_capacity(rows.len());
    let mut contacts = Vec::new();
    let mut organizations = Vec::new();
    let mut assets = Vec::new();
    let mut keyless_rows = Vec::new();
    let reason = |line, reason: String, left_out: &[String]| {
        let reason = std::iter::once(reason).chain(left_out.iter().cloned());
        RowError::new(line, reason.collect::<Vec<_>>().join("; "))
    };
    for ReadRow {
        line,
        row,
        left_out,
    } in rows
    {
        let keyless = !row.has_external_id();
        let resolved = match row {
            Row::Contact(mut contact, link) => {
                linker.organization_of_contact(&link).await.map(|id| {
                    contact.organization_id = id;
                    contacts.push(contact);
                })
            }
            Row::Organization(organization) => {
                organizations.push(organization);
                Ok(())
            }
            Row::Asset(mut asset, link) => linker.owner_of_asset(&link).await.map(|owner| {
                asset.owner = owner;
                assets.push(asset);
            }),
        };
        match resolved {
            Ok(()) => {
                lines.push((line, left_out));
                keyless_rows.push(keyless);
            }
            Err(LinkError::Row(why)) => failures.push(reason(line, why, &left_out)),
            Err(LinkError::Store(source)) => return Err(store_error(source)),
        }
    }
    let results = match report.kind {
        Kind::Contacts => store.save_records(&contacts).await,
        Kind::Organizations => store.save_records(&organizations).await,
        Kind::Assets => store.save_records(&assets).await,
    }
    .map_err(store_error)?;
    for (((line, left_out), keyless), result) in lines.into_iter().zip(keyless_rows).zip(results) {
        match result {
            Ok(_) => {
                report.saved += 1;
                report.without_external_id += u64::from(keyless);
                if !left_out.is_empty() {
                    warnings.push(RowError::new(line, left_out.join("; ")));
                }
            }
            Err(e) => failures.push(reason(line, not_stored(&e, "import"), &left_out)),
        }
    }
    Ok(())
}

/// Why the store refused a row (or a synced record), for the report (which an API client
/// reads): our own words for a conflict or a missing link; the database's text goes only to
/// the log, which names `work` ("import", "sync").
pub(crate) fn not_stored(error: &StoreError, work: &str) -> String {
    match error {
        StoreError::Conflict(_) | StoreError::NotFound(_) => format!("not stored: {error}"),
        other => {
            tracing::warn!(error = %other, "phone book {work}: the database refused a record");
            "not stored: the database refused it (the service log has its reason)".to_owned()
        }
    }
}

/// Why a link could not be resolved: the row's fault, or the database's.
pub(crate) enum LinkError {
    Row(String),
    Store(StoreError),
}

impl From<StoreError> for LinkError {
    fn from(error: StoreError) -> LinkError {
        LinkError::Store(error)
    }
}

/// How many organizations carry a name.
#[derive(Clone, Copy)]
enum Named {
    One(Id),
    Several(u32),
}

/// Past this many entries a lookup cache is emptied, so memory stays bounded on files that
/// name a great many different owners.
const MAX_CACHED: usize = 100_000;

/// Resolves the names and external ids a file uses to the ids of stored records, remembering
/// each answer for the rest of the import. The phone-book sync links LDAP's `company` through
/// it too.
pub(crate) struct Linker<'s> {
    store: &'s Store,
    /// Organizations by external id; `None` when the store has none.
    organizations: HashMap<String, Option<Id>>,
    contacts: HashMap<String, Option<Id>>,
    /// Every organization by name, read once, when a row first names one: the store looks
    /// records up by id and external id only.
    names: Option<HashMap<String, Named>>,
    pub(crate) organizations_created: u64,
}

impl<'s> Linker<'s> {
    pub(crate) fn new(store: &'s Store) -> Linker<'s> {
        Linker {
            store,
            organizations: HashMap::new(),
            contacts: HashMap::new(),
            names: None,
            organizations_created: 0,
        }
    }

    /// By external id, else by exact name; an organization the store lacks is created when the
    /// row names it. With an external id the store does not know, it is created with that id
    /// and the name, even if another organization has the name: the id says it is another.
    pub(crate) async fn organization_of_contact(
        &mut self,
        link: &OrganizationLink,
    ) -> Result<Option<Id>, LinkError> {
        let OrganizationLink { external_id, name } = link;
        if let Some(external_id) = external_id {
            if let Some(id) = self.organization_by_external_id(external_id).await? {
                return Ok(Some(id));
            }
        }
        let Some(name) = name else {
            return match external_id {
                Some(external_id) => Err(LinkError::Row(format!(
                    "organization_id: no organization has the external id {external_id:?} \
                     (give its name in the organization column to create it)"
                ))),
                None => Ok(None),
            };
        };
        if external_id.is_none() {
            if let Some(id) = self.organization_by_name(name).await? {
                return Ok(Some(id));
            }
        }
        self.create_organization(external_id.clone(), name)
            .await
            .map(Some)
    }

    /// `owner_contact` by external id; `owner_organization` by external id, else exact name.
    async fn owner_of_asset(&mut self, link: &OwnerLink) -> Result<Owner, LinkError> {
        if let Some(external_id) = &link.contact {
            return match self.contact_by_external_id(external_id).await? {
                Some(id) => Ok(Owner::Contact(id)),
                None => Err(LinkError::Row(format!(
                    "owner_contact: no contact has the external id {external_id:?}"
                ))),
            };
        }
        let Some(organization) = &link.organization else {
            return Ok(Owner::Nobody);
        };
        if let Some(id) = self.organization_by_external_id(organization).await? {
            return Ok(Owner::Organization(id));
        }
        match self.organization_by_name(organization).await? {
            Some(id) => Ok(Owner::Organization(id)),
            None => Err(LinkError::Row(format!(
                "owner_organization: no organization has the external id or name {organization:?}"
            ))),
        }
    }

    async fn organization_by_external_id(
        &mut self,
        external_id: &str,
    ) -> Result<Option<Id>, StoreError> {
        id_by_external_id::<Organization>(self.store, &mut self.organizations, external_id).await
    }

    async fn contact_by_external_id(
        &mut self,
        external_id: &str,
    ) -> Result<Option<Id>, StoreError> {
        id_by_external_id::<Contact>(self.store, &mut self.contacts, external_id).await
    }

    /// The one organization of this exact name; several are the row's problem, since
    /// choosing one would link the contact to a stranger.
    async fn organization_by_name(&mut self, name: &str) -> Result<Option<Id>, LinkError> {
        match self.names().await?.get(name) {
            None => Ok(None),
            Some(Named::One(id)) => Ok(Some(*id)),
            Some(Named::Several(n)) => Err(LinkError::Row(format!(
                "{n} organizations are named {name:?}; name one by its external id"
            ))),
        }
    }

    async fn names(&mut self) -> Result<&mut HashMap<String, Named>, StoreError> {
        if self.names.is_none() {
            let mut names = HashMap::new();
            let mut after = 0;
            loop {
                let page = self
                    .store
                    .records_after::<Organization>(after, 1000)
                    .await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for organization in page {
                    add_name(&mut names, organization.name, organization.id);
                }
            }
            self.names = Some(names);
        }
        Ok(self.names.get_or_insert_with(HashMap::new))
    }

    async fn create_organization(
        &mut self,
        external_id: Option<String>,
        name: &str,
    ) -> Result<Id, LinkError> {
        let organization = Organization {
            external_id: external_id.clone(),
            name: name.to_owned(),
            ..Organization::default()
        };
        let id = self.store.save_record(&organization).await?;
        self.organizations_created += 1;
        if let Some(external_id) = external_id {
            remember(&mut self.organizations, &external_id, Some(id));
        }
        add_name(self.names().await?, name.to_owned(), id);
        Ok(id)
    }
}

/// The id of the `R` with this external id (`None` when there is none), asked of the store
/// once per import.
async fn id_by_external_id<R: Record>(
    store: &Store,
    cache: &mut HashMap<String, Option<Id>>,
    external_id: &str,
) -> Result<Option<Id>, StoreError> {
    if let Some(known) = cache.get(external_id) {
        return Ok(*known);
    }
    let found = store
        .record_by_external_id::<R>(external_id)
        .await?
        .map(|record| record.id());
    remember(cache, external_id, found);
    Ok(found)
}

fn remember(cache: &mut HashMap<String, Option<Id>>, key: &str, value: Option<Id>) {
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    cache.insert(key.to_owned(), value);
}

fn add_name(names: &mut HashMap<String, Named>, name: String, id: Id) {
    names
        .entry(name)
        .and_modify(|named| {
            *named = match *named {
                Named::One(other) if other == id => Named::One(id),
                Named::One(_) => Named::Several(2),
                Named::Several(n) => Named::Several(n + 1),
            }
        })
        .or_insert(Named::One(id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_formats_are_named_as_on_the_command_line() {
        assert_eq!("Contacts".parse::<Kind>().ok(), Some(Kind::Contacts));
        assert_eq!("asset".parse::<Kind>().ok(), Some(Kind::Assets));
        assert!("people"
            .parse::<Kind>()
            .unwrap_err()
            .to_string()
            .contains("contacts"));
        assert_eq!("vcf".parse::<Format>().ok(), Some(Format::VCard));
        assert_eq!(Format::from_path(Path::new("book.VCF")), Format::VCard);
        assert_eq!(Format::from_path(Path::new("book.csv")), Format::Csv);
        assert_eq!(Format::from_path(Path::new("book")), Format::Auto);
    }

    /// Every row of `input` as read (without the store): the reader's whole verdict.
    fn read_all(input: &[u8], format: Format) -> Result<Vec<Result<u64, RowError>>, ImportError> {
        let numbering = Numbering::new("RU").unwrap();
        let mut source = Source::open(input, format, None, &ColumnMap::default(), numbering)?;
        let mut rows = Vec::new();
        while let Some(row) = source.next_row()? {
            rows.push(row.map(|read| read.line));
        }
        Ok(rows)
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_are_errors_not_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let _ = read_all(&bytes, Format::Csv);
            let _ = read_all(&bytes, Format::VCard);
        }

        /// Text made of the characters that matter to the parsers, in any order.
        #[test]
        fn csv_and_vcard_shaped_noise_never_panics(text in "(first_name,last_name,phones\\n|BEGIN:VCARD\\n|END:VCARD\\n|TEL;TYPE=cell:|N:|\"|,|;|:|=|\\\\|\\n|\\r| |[a-z0-9+é]){0,200}") {
            let _ = read_all(text.as_bytes(), Format::Csv);
            let _ = read_all(text.as_bytes(), Format::VCard);
            let _ = read_all(text.as_bytes(), Format::Auto);
        }

        /// However the rows are broken, each line is accounted for: a row read or a failure,
        /// never one row swallowing the next.
        #[test]
        fn every_csv_line_comes_out_once(rows in proptest::collection::vec("[a-z\"]{0,6},[a-z\"]{0,6}", 1..30)) {
            let input = format!("first_name,last_name\n{}\n", rows.join("\n"));
            let lines: Vec<u64> = read_all(input.as_bytes(), Format::Csv)
                .unwrap()
                .into_iter()
                .map(|row| row.unwrap_or_else(|e| e.line))
                .collect();
            let mut sorted = lines.clone();
            sorted.sort_unstable();
            sorted.dedup();
            proptest::prop_assert_eq!(sorted.len(), lines.len());
            proptest::prop_assert!(lines.iter().all(|l| (2..=rows.len() as u64 + 1).contains(l)));
        }
    }

    #[test]
    fn vcards_are_recognised_by_their_first_line() {
        assert!(looks_like_vcard(
            b"\xEF\xBB\xBF\r\n begin:vcard\r\nVERSION:3.0"
        ));
        assert!(!looks_like_vcard(b"first_name,last_name\n"));
        assert!(!looks_like_vcard(b""));
    }
}
