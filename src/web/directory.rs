//! The phone book over HTTP: search for agents, records and their links (with their last
//! tickets and calls, as the pop-up shows a caller's), a page of records as the phone-book
//! screen lists them, edits that reach the in-memory book at once. Agents read and edit
//! records, except the fields that route calls and faxes (see [`crate::directory::rights`]);
//! supervisors delete them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ApiJson;
use super::roles::{Admin, Agent, Authorized, Supervisor};
use super::{ApiError, AppState, Auth};
use crate::directory::import::{self, ColumnMap, Format, ImportError, ImportReport, Kind};
use crate::directory::model::{Asset, Contact, Id, Number, Organization, Owner};
use crate::directory::rights::{self, Guarded};
use crate::directory::{export, prepare, Found, FoundRecord};
use crate::store::{CallFilter, Record, Removable, TicketFilter};
use crate::switch::Named;

const MAX_PAGE: u32 = 500;
const MAX_QUERY: usize = 200;
/// How many of a record's last tickets and calls its detail carries.
const RECENT: u32 = 10;

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    q: String,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    20
}

/// `GET /api/contacts/search?q=`: names (typos, swapped, partial, either script) and number
/// fragments, ranked with a score.
pub(crate) async fn search(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<Found>>, ApiError> {
    if query.q.chars().count() > MAX_QUERY {
        return Err(ApiError::bad_request(format!(
            "a search is at most {MAX_QUERY} characters"
        )));
    }
    Ok(Json(
        state.phonebook.search(&query.q, query.limit.clamp(1, 100)),
    ))
}

#[derive(Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    after: Id,
    #[serde(default = "default_page")]
    limit: u32,
    /// Contacts and organizations: `true` lists only those a synchronised source removed,
    /// `false` only those in use; without it, both (a removed one has `removed_at`).
    removed: Option<bool>,
}

fn default_page() -> u32 {
    100
}

async fn page<R: Record + serde::Serialize>(
    state: &AppState,
    page: Page,
) -> Result<Json<Vec<R>>, ApiError> {
    Ok(Json(
        state
            .store
            .records_after::<R>(page.after, page.limit.clamp(1, MAX_PAGE))
            .await?,
    ))
}

/// A page of contacts or organizations, by [`Page::removed`].
async fn page_by_removal<R: Removable + serde::Serialize>(
    state: &AppState,
    page: Page,
) -> Result<Json<Vec<R>>, ApiError> {
    let limit = page.limit.clamp(1, MAX_PAGE);
    match page.removed {
        None => Ok(Json(
            state.store.records_after::<R>(page.after, limit).await?,
        )),
        Some(removed) => Ok(Json(
            state
                .store
                .records_after_by_removal::<R>(page.after, limit, removed)
                .await?,
        )),
    }
}

/// Numbers as the configured style shows them, beside the stored E.164.
fn shown(state: &AppState, numbers: &[Number]) -> Vec<String> {
    let numbering = state.phonebook.numbering();
    let style = state.config.phonebook.number_style;
    numbers
        .iter()
        .map(|n| numbering.display(&n.number, style))
        .collect()
}

fn invalid(problems: Vec<String>) -> ApiError {
    ApiError::bad_request(problems.join("; "))
}

/// 403 naming every guarded field the caller changed and may not.
fn may_change(auth: &Auth, changes: Vec<Guarded>) -> Result<(), ApiError> {
    let refused = rights::refused(auth.role, changes);
    let Some(needed) = refused.iter().map(|change| change.role).max() else {
        return Ok(());
    };
    let fields: Vec<&str> = refused.iter().map(|change| change.field).collect();
    Err(ApiError::forbidden_fields(&fields, needed))
}

/// The audit record of a saved phone-book record: created, or updated from `stored`.
fn saved(
    auth: &Auth,
    kind: &str,
    is_new: bool,
    stored: &impl serde::Serialize,
    record: &impl serde::Serialize,
    id: Id,
) -> crate::audit::AuditEntry {
    if is_new {
        auth.change(kind, "create", id).after(record)
    } else {
        auth.change(kind, "update", id).before(stored).after(record)
    }
}

/// A contact's or an organization's last tickets (starred first, then newest) and last calls
/// (newest first): what the pop-up shows of a caller, so agents read them here too.
async fn history(
    state: &AppState,
    owner: Owner,
) -> Result<(Vec<crate::tickets::Ticket>, Vec<crate::cdr::CallRecord>), ApiError> {
    let (contact_id, organization_id) = match owner {
        Owner::Contact(id) => (Some(id), None),
        Owner::Organization(id) => (None, Some(id)),
        Owner::Nobody => return Ok((Vec::new(), Vec::new())),
    };
    let tickets = state
        .store
        .tickets(&TicketFilter {
            contact_id,
            organization_id,
            limit: Some(RECENT),
            ..TicketFilter::default()
        })
        .await?;
    let calls = state
        .store
        .calls(&CallFilter {
            contact_id,
            organization_id,
            limit: Some(RECENT),
            ..CallFilter::default()
        })
        .await?;
    Ok((tickets, calls))
}

// ----- the phone-book screen's list ----------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct EntriesQuery {
    /// `contacts` or `organizations`.
    kind: String,
}

/// One record as the phone-book screen lists it: the search's shape ([`Found`] without a
/// score), and when a synchronised source removed it.
#[derive(Serialize)]
pub(crate) struct Listed {
    #[serde(flatten)]
    record: FoundRecord,
    name: String,
    organization: Option<Named>,
    vip: bool,
    numbers_shown: Vec<String>,
    removed_at: Option<i64>,
}

/// `GET /api/phonebook/entries?kind=contacts|organizations&after=&limit=&removed=`: a page of
/// records in id order (as `GET /api/contacts` pages them), each with its organization's name
/// and its numbers as the screens show them.
pub(crate) async fn entries(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(query): Query<EntriesQuery>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<Listed>>, ApiError> {
    let numbers = |numbers: &[Number]| shown(&state, numbers);
    match query.kind.as_str() {
        "contacts" => {
            let Json(contacts) = page_by_removal::<Contact>(&state, page).await?;
            // The page's organizations, each read once.
            let mut ids: Vec<Id> = contacts.iter().filter_map(|c| c.organization_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut names = std::collections::HashMap::new();
            for id in ids {
                if let Some(organization) = state.store.find_record::<Organization>(id).await? {
                    names.insert(id, organization.name);
                }
            }
            Ok(Json(
                contacts
                    .into_iter()
                    .map(|contact| Listed {
                        record: FoundRecord::Contact(contact.id),
                        name: contact.display_name(),
                        organization: contact.organization_id.and_then(|id| {
                            let name = names.get(&id)?.clone();
                            Some(Named { id, name })
                        }),
                        vip: contact.vip,
                        numbers_shown: numbers(&contact.numbers),
                        removed_at: contact.removed_at,
                    })
                    .collect(),
            ))
        }
        "organizations" => {
            let Json(organizations) = page_by_removal::<Organization>(&state, page).await?;
            Ok(Json(
                organizations
                    .into_iter()
                    .map(|o| Listed {
                        record: FoundRecord::Organization(o.id),
                        numbers_shown: numbers(&o.numbers),
                        name: o.name,
                        organization: None,
                        vip: o.vip,
                        removed_at: o.removed_at,
                    })
                    .collect(),
            ))
        }
        other => Err(ApiError::bad_request(format!(
            "kind {other:?} is not contacts or organizations"
        ))),
    }
}

// ----- contacts ----------------------------------------------------------------------------

pub(crate) async fn list_contacts(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(p): Query<Page>,
) -> Result<Json<Vec<Contact>>, ApiError> {
    page_by_removal(&state, p).await
}

/// `GET /api/contacts/{id}`: the contact with its organization and the assets of both.
pub(crate) async fn contact(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Path(id): Path<Id>,
) -> Result<Json<Value>, ApiError> {
    let contact: Contact = state.store.record(id).await?;
    let organization = match contact.organization_id {
        Some(org) => Some(state.store.record::<Organization>(org).await?),
        None => None,
    };
    let mut assets = state.store.assets_of(Owner::Contact(id)).await?;
    if let Some(org) = &organization {
        assets.extend(state.store.assets_of(Owner::Organization(org.id)).await?);
    }
    let (recent_tickets, recent_calls) = history(&state, Owner::Contact(id)).await?;
    Ok(Json(json!({
        "numbers_shown": shown(&state, &contact.numbers),
        "contact": contact,
        "organization": organization,
        "assets": assets,
        "recent_tickets": recent_tickets,
        "recent_calls": recent_calls,
    })))
}

pub(crate) async fn create_contact(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    ApiJson(mut contact): ApiJson<Contact>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    contact.id = 0;
    let contact = save_contact(&state, &auth, contact).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

pub(crate) async fn update_contact(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<Id>,
    ApiJson(mut contact): ApiJson<Contact>,
) -> Result<Json<Contact>, ApiError> {
    contact.id = id;
    Ok(Json(save_contact(&state, &auth, contact).await?))
}

/// Prepares, checks the guarded fields against the stored contact, stores, updates the book.
async fn save_contact(
    state: &AppState,
    auth: &Auth,
    mut contact: Contact,
) -> Result<Contact, ApiError> {
    prepare::contact(state.phonebook.numbering(), &mut contact).map_err(invalid)?;
    let stored = match contact.id {
        0 => Contact::default(),
        id => state.store.record(id).await?,
    };
    may_change(auth, rights::contact_changes(&stored, &contact))?;
    // Only the sync removes and restores (the store keeps the column as it is).
    contact.removed_at = stored.removed_at;
    if let Some(org) = contact.organization_id {
        state.store.record::<Organization>(org).await?;
    }
    let is_new = contact.id == 0;
    contact.id = state.store.save_record(&contact).await?;
    state.phonebook.put_contact(&contact);
    state
        .audit(saved(
            auth, "contact", is_new, &stored, &contact, contact.id,
        ))
        .await;
    Ok(contact)
}

pub(crate) async fn delete_contact(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiError> {
    let before = state.store.find_record::<Contact>(id).await?;
    if !state.store.delete_record::<Contact>(id).await? {
        return Err(ApiError::not_found(format!("contact {id} not found")));
    }
    state.phonebook.remove_contact(id);
    let change = auth.change("contact", "delete", id).before(&before);
    state.audit(change).await;
    Ok(StatusCode::NO_CONTENT)
}

// ----- organizations -----------------------------------------------------------------------

pub(crate) async fn list_organizations(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(p): Query<Page>,
) -> Result<Json<Vec<Organization>>, ApiError> {
    page_by_removal(&state, p).await
}

/// `GET /api/organizations/{id}`: with its contacts and assets, its last tickets and calls.
pub(crate) async fn organization(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Path(id): Path<Id>,
) -> Result<Json<Value>, ApiError> {
    let organization: Organization = state.store.record(id).await?;
    let (recent_tickets, recent_calls) = history(&state, Owner::Organization(id)).await?;
    Ok(Json(json!({
        "numbers_shown": shown(&state, &organization.numbers),
        "organization": organization,
        "contacts": state.store.contacts_of_organization(id).await?,
        "assets": state.store.assets_of(Owner::Organization(id)).await?,
        "recent_tickets": recent_tickets,
        "recent_calls": recent_calls,
    })))
}

pub(crate) async fn create_organization(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    ApiJson(mut organization): ApiJson<Organization>,
) -> Result<(StatusCode, Json<Organization>), ApiError> {
    organization.id = 0;
    let organization = save_organization(&state, &auth, organization).await?;
    Ok((StatusCode::CREATED, Json(organization)))
}

pub(crate) async fn update_organization(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<Id>,
    ApiJson(mut organization): ApiJson<Organization>,
) -> Result<Json<Organization>, ApiError> {
    organization.id = id;
    Ok(Json(save_organization(&state, &auth, organization).await?))
}

/// Prepares, checks the guarded fields against the stored organization, stores, updates the
/// book.
async fn save_organization(
    state: &AppState,
    auth: &Auth,
    mut organization: Organization,
) -> Result<Organization, ApiError> {
    prepare::organization(state.phonebook.numbering(), &mut organization).map_err(invalid)?;
    let stored = match organization.id {
        0 => Organization::default(),
        id => state.store.record(id).await?,
    };
    may_change(auth, rights::organization_changes(&stored, &organization))?;
    // Only the sync removes and restores (the store keeps the column as it is).
    organization.removed_at = stored.removed_at;
    let is_new = organization.id == 0;
    organization.id = state.store.save_record(&organization).await?;
    state.phonebook.put_organization(&organization);
    let change = saved(
        auth,
        "organization",
        is_new,
        &stored,
        &organization,
        organization.id,
    );
    state.audit(change).await;
    Ok(organization)
}

pub(crate) async fn delete_organization(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiError> {
    let before = state.store.find_record::<Organization>(id).await?;
    if !state.store.delete_record::<Organization>(id).await? {
        return Err(ApiError::not_found(format!("organization {id} not found")));
    }
    state.phonebook.remove_organization(id);
    let change = auth.change("organization", "delete", id).before(&before);
    state.audit(change).await;
    Ok(StatusCode::NO_CONTENT)
}

// ----- assets ------------------------------------------------------------------------------

pub(crate) async fn list_assets(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Query(p): Query<Page>,
) -> Result<Json<Vec<Asset>>, ApiError> {
    page(&state, p).await
}

pub(crate) async fn asset(
    State(state): State<AppState>,
    _: Authorized<Agent>,
    Path(id): Path<Id>,
) -> Result<Json<Asset>, ApiError> {
    Ok(Json(state.store.record(id).await?))
}

pub(crate) async fn create_asset(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    ApiJson(mut asset): ApiJson<Asset>,
) -> Result<(StatusCode, Json<Asset>), ApiError> {
    asset.id = 0;
    Ok((
        StatusCode::CREATED,
        Json(save_asset(&state, &auth, asset).await?),
    ))
}

pub(crate) async fn update_asset(
    State(state): State<AppState>,
    auth: Authorized<Agent>,
    Path(id): Path<Id>,
    ApiJson(mut asset): ApiJson<Asset>,
) -> Result<Json<Asset>, ApiError> {
    asset.id = id;
    Ok(Json(save_asset(&state, &auth, asset).await?))
}

async fn save_asset(state: &AppState, auth: &Auth, mut asset: Asset) -> Result<Asset, ApiError> {
    prepare::asset(&mut asset).map_err(invalid)?;
    match asset.owner {
        Owner::Contact(id) => drop(state.store.record::<Contact>(id).await?),
        Owner::Organization(id) => drop(state.store.record::<Organization>(id).await?),
        Owner::Nobody => {}
    }
    let is_new = asset.id == 0;
    let stored = match asset.id {
        0 => None,
        id => state.store.find_record::<Asset>(id).await?,
    };
    asset.id = state.store.save_record(&asset).await?;
    state
        .audit(saved(auth, "asset", is_new, &stored, &asset, asset.id))
        .await;
    Ok(asset)
}

pub(crate) async fn delete_asset(
    State(state): State<AppState>,
    auth: Authorized<Supervisor>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiError> {
    let before = state.store.find_record::<Asset>(id).await?;
    if !state.store.delete_record::<Asset>(id).await? {
        return Err(ApiError::not_found(format!("asset {id} not found")));
    }
    let change = auth.change("asset", "delete", id).before(&before);
    state.audit(change).await;
    Ok(StatusCode::NO_CONTENT)
}

// ----- import and export -------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct ImportQuery {
    kind: Option<String>,
    #[serde(default)]
    format: Option<String>,
    /// `email=emails,company=organization`, as `switchdesk phonebook import --map`.
    #[serde(default)]
    map: Option<String>,
}

/// `POST /api/phonebook/import?kind=contacts|organizations|assets&format=csv|vcard&map=...`
/// (admin): the body is the file (up to the HTTP body limit; larger books go through
/// `switchdesk phonebook import`). Answers the report: counts, every bad row by line, every
/// row saved without an unreadable number by line, and the columns not read.
pub(crate) async fn import(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Query(query): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> Result<Json<ImportReport>, ApiError> {
    let kind = query
        .kind
        .as_deref()
        .map(str::parse::<Kind>)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let format = query
        .format
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .unwrap_or(Format::Auto);
    let map: ColumnMap = query
        .map
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: import::MapError| ApiError::bad_request(e.to_string()))?;
    let numbering = state.phonebook.numbering().clone();
    let report = import::import(
        &state.store,
        &numbering,
        std::io::Cursor::new(body),
        format,
        kind,
        &map,
        &mut |_| {},
    )
    .await
    .map_err(|e| match e {
        store @ ImportError::Store { .. } => ApiError::internal(&store),
        other => ApiError::bad_request(other.to_string()),
    })?;
    // The book holds organizations and contacts, not assets.
    if report.kind != Kind::Assets {
        state.phonebook.reload(&state.store).await?;
    }
    let counts = json!({
        "rows": report.rows,
        "saved": report.saved,
        "created": report.created,
        "updated": report.updated,
        "failed": report.failed,
        "warned": report.warned,
    });
    // Rows are audited by the record's kind (`contact`), the import's target is the file's.
    let file = report.kind.as_str();
    let kind = file.trim_end_matches('s');
    state
        .audit(auth.change(kind, "import", file).after(&counts))
        .await;
    Ok(Json(report))
}

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    kind: String,
}

/// `GET /api/phonebook/export?kind=contacts|organizations|assets` (supervisor+): CSV with the
/// columns the importer reads.
pub(crate) async fn export(
    State(state): State<AppState>,
    _: Authorized<Supervisor>,
    Query(query): Query<ExportQuery>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let kind: Kind = query
        .kind
        .parse()
        .map_err(|e: import::UnknownName| ApiError::bad_request(e.to_string()))?;
    let mut csv = Vec::new();
    export::export(&state.store, kind, &mut csv)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.csv\"", kind.as_str()),
            ),
        ],
        csv,
    ))
}
