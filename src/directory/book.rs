//! The phone book in memory: the search index plus what identification needs of each record
//! (name, organization, VIP, priority), loaded from the store at start and kept current by
//! every edit. It answers the queues' who-is-calling hook without touching the database.
//! A record a synchronised source removed (`removed_at`) is not in it: it is handled as a
//! delete, wherever it comes from (loading, an edit, a catch-up).

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use super::model::{priority_raise, BookContact, Contact, Id, Number, NumberKind, Organization};
use super::number::Numbering;
use super::search::{Entry, Hit, Index, Key};
use crate::fsarg::Language;
use crate::store::{Store, StoreError};
use crate::switch::{CallerIdentity, Confidence, Identity, Named};

/// What identification and search results need of a record. A million of them stay in
/// memory, so it is kept small (24 bytes): the name is a place in [`Names`], the organization
/// an id with 0 for none (no stored record has id 0).
#[derive(Clone, Copy, Debug)]
struct Card {
    name: NameAt,
    organization: Id,
    priority: i32,
    vip: bool,
}

/// A card as it is filed, its name not yet in [`Names`].
struct NewCard {
    name: String,
    organization: Id,
    priority: i32,
    vip: bool,
    /// A contact's language, as mod_say names it (an organization has none).
    language: Option<Language>,
}

/// Where a card's name is in [`Names::text`].
#[derive(Clone, Copy, Debug, Default)]
struct NameAt {
    start: u32,
    len: u32,
}

/// Every card's name in one string: a million names cost their bytes, not a million
/// allocations (each with its header, and scattered among the load's freed memory). A changed
/// or removed record's old name stays until the text holds twice what is in use; then the
/// names in use are copied afresh.
#[derive(Default)]
struct Names {
    text: String,
    /// Bytes of `text` that cards point at.
    used: usize,
}

impl Names {
    fn get(&self, at: NameAt) -> &str {
        let start = at.start as usize;
        self.text
            .get(start..start + at.len as usize)
            .unwrap_or_default()
    }

    /// Appends `name`; `None` when the text would pass 4 GiB even after copying (then the
    /// caller compacts and tries again).
    fn push(&mut self, name: &str) -> Option<NameAt> {
        let start = u32::try_from(self.text.len()).ok()?;
        let len = u32::try_from(name.len()).ok()?;
        start.checked_add(len)?;
        self.text.push_str(name);
        self.used += name.len();
        Some(NameAt { start, len })
    }

    fn release(&mut self, at: NameAt) {
        self.used = self.used.saturating_sub(at.len as usize);
    }

    fn wasteful(&self) -> bool {
        self.text.len() > (1 << 20) && self.text.len() > 2 * self.used
    }
}

impl Card {
    fn organization(&self) -> Option<Id> {
        (self.organization != 0).then_some(self.organization)
    }
}

/// An organization's fax lines (E.164) and the mailboxes faxes to them are sent to.
#[derive(Clone, Debug)]
struct FaxBox {
    name: String,
    lines: Vec<String>,
    mailboxes: Vec<String>,
}

#[derive(Default)]
struct Shelf {
    index: Index,
    /// By the entry's place in the index ([`Index::place`]): no second map from id to card.
    cards: Vec<Option<Card>>,
    names: Names,
    /// The language of each contact that has one (few do: kept apart from the cards).
    languages: HashMap<Id, Language>,
    /// Organizations with fax lines and fax mailboxes: where a fax to one of those lines goes.
    fax_boxes: HashMap<Id, FaxBox>,
    /// The newest `updated_at` read from the store: where the next catch-up starts.
    read_up_to: i64,
}

/// A search result, ready to show.
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub record: FoundRecord,
    pub name: String,
    pub organization: Option<Named>,
    pub vip: bool,
    /// 0..=1, best first.
    pub score: f32,
    /// The record's numbers as the screens show them (`[phonebook] number_style`).
    pub numbers_shown: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum FoundRecord {
    Contact(Id),
    Organization(Id),
}

/// A caller-ID name is matched fuzzily only when it is this close to a contact's name.
const FUZZY_ACCEPT: f32 = 0.9;
/// ...and clearly closer than the runner-up, so two similar customers are not confused.
const FUZZY_MARGIN: f32 = 0.05;
/// How far back a catch-up reads beyond the last one: writers' clocks and commit delays.
const CLOCK_SLACK_MS: i64 = 5_000;
/// Records read per query while loading.
const LOAD_PAGE: u32 = 10_000;

pub struct PhoneBook {
    numbering: Numbering,
    shelf: RwLock<Shelf>,
}

/// The index's entry and the card of a contact, taking its names and numbers.
fn contact_entry(contact: BookContact) -> (Entry, NewCard) {
    let name = contact.display_name();
    let mut names = Vec::with_capacity(1 + contact.aliases.len());
    names.push(name.clone());
    names.extend(contact.aliases);
    let entry = Entry {
        key: Key::Contact(contact.id),
        names,
        numbers: contact
            .numbers
            .into_iter()
            .filter(|n| n.kind != NumberKind::Range)
            .map(|n: Number| n.number)
            .collect(),
        ranges: Vec::new(),
    };
    let card = NewCard {
        name,
        organization: contact.organization_id.unwrap_or(0),
        priority: contact.priority,
        vip: contact.vip,
        language: contact.language.as_deref().and_then(Language::of_tag),
    };
    (entry, card)
}

fn organization_entry(organization: &Organization) -> Entry {
    let (ranges, numbers): (Vec<_>, Vec<_>) = organization
        .numbers
        .iter()
        .partition(|n| n.kind == NumberKind::Range);
    Entry {
        key: Key::Organization(organization.id),
        names: vec![organization.name.clone()],
        numbers: numbers.into_iter().map(|n| n.number.clone()).collect(),
        ranges: ranges.into_iter().map(|n| n.number.clone()).collect(),
    }
}

impl Shelf {
    fn file_fax_box(&mut self, organization: &Organization) {
        let lines: Vec<String> = organization
            .numbers
            .iter()
            .filter(|n| n.kind == NumberKind::Fax)
            .map(|n| n.number.clone())
            .collect();
        if lines.is_empty() || organization.fax_mailboxes.is_empty() {
            self.fax_boxes.remove(&organization.id);
        } else {
            self.fax_boxes.insert(
                organization.id,
                FaxBox {
                    name: organization.name.clone(),
                    lines,
                    mailboxes: organization.fax_mailboxes.clone(),
                },
            );
        }
    }
}

fn organization_card(organization: &Organization) -> NewCard {
    NewCard {
        name: organization.name.clone(),
        organization: 0,
        language: None,
        priority: organization.priority,
        vip: organization.vip,
    }
}

impl PhoneBook {
    pub fn new(numbering: Numbering) -> PhoneBook {
        PhoneBook {
            numbering,
            shelf: RwLock::new(Shelf::default()),
        }
    }

    /// Reads the whole book from the store, a page at a time, and indexes it in one build.
    pub async fn load(store: &Store, numbering: Numbering) -> Result<PhoneBook, StoreError> {
        let book = PhoneBook::new(numbering);
        book.reload(store).await?;
        Ok(book)
    }

    /// Replaces the book with what the store holds (after an import). The new book is built
    /// beside the old one, which answers until the whole new one is swapped in: nobody is
    /// identified against half a book. Contacts are read a page at a time (only the columns
    /// the book keeps), the next page read while the last one is indexed.
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        // Anything written from now on is caught up with later, even if this read sees it.
        let mut shelf = Shelf {
            read_up_to: crate::clock::now() - CLOCK_SLACK_MS,
            ..Shelf::default()
        };
        let mut after = 0;
        loop {
            let page: Vec<Organization> = store.records_after(after, LOAD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for organization in &page {
                shelf.put_organization(organization);
            }
        }
        // Sized once for what is there: a million keys filed without rehashing as they come.
        let expected = usize::try_from(store.count_in_use::<Contact>().await?).unwrap_or(0);
        shelf.cards.reserve(expected);
        let (pages, mut paged) = tokio::sync::mpsc::channel(1);
        let reader = store.clone();
        let reading = tokio::spawn(async move {
            let mut after = 0;
            loop {
                let page = reader.book_contacts_after(after, LOAD_PAGE).await;
                // The last id, when the page was read and not empty: where the next starts.
                let last = page.as_ref().ok().and_then(|p| p.last()).map(|c| c.id);
                if pages.send(page).await.is_err() {
                    return;
                }
                match last {
                    Some(last) => after = last,
                    None => return,
                }
            }
        });
        // Indexed on a thread of its own: the book's million small pieces come from one
        // allocator arena, apart from the rows read (freed as each page is indexed).
        let building = tokio::task::spawn_blocking(move || {
            let mut contacts = std::mem::take(&mut shelf.index).bulk(expected);
            while let Some(page) = paged.blocking_recv() {
                for contact in page? {
                    let (entry, card) = contact_entry(contact);
                    let key = entry.key;
                    if let Some(place) = contacts.add(entry) {
                        shelf.keep_card(key, place, card);
                    }
                }
            }
            shelf.index = contacts.finish();
            shelf.cards.shrink_to_fit();
            shelf.names.text.shrink_to_fit();
            Ok::<Shelf, StoreError>(shelf)
        });
        let built = building.await;
        // The reader has ended (its channel closed); a panic there is a bug, not a book.
        let _ = reading.await;
        let shelf = match built {
            Ok(shelf) => shelf?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels it.
            Err(_) => return Err(sqlx::Error::WorkerCrashed.into()),
        };
        *self.write() = shelf;
        give_back_freed_memory();
        Ok(())
    }

    /// Applies what other processes wrote since the last read (`switchdesk phonebook import`
    /// or `sync` next to a running service): changed records are re-indexed, removed ones
    /// taken out; if records were deleted elsewhere (the store holds fewer in use than the
    /// book), the whole book is read again.
    /// Returns how many records were applied.
    pub async fn catch_up(&self, store: &Store) -> Result<usize, StoreError> {
        let since = self.read().read_up_to;
        let now = crate::clock::now() - CLOCK_SLACK_MS;
        let organizations: Vec<Organization> = store.records_changed_since(since).await?;
        let contacts: Vec<Contact> = store.records_changed_since(since).await?;
        let applied = organizations.len() + contacts.len();
        {
            let mut shelf = self.write();
            for organization in &organizations {
                shelf.put_organization(organization);
            }
            for contact in &contacts {
                shelf.put_contact(contact);
            }
            shelf.read_up_to = shelf.read_up_to.max(now);
        }
        let in_book = self.read().index.stats().entries as u64;
        let in_store =
            store.count_in_use::<Contact>().await? + store.count_in_use::<Organization>().await?;
        if in_store != in_book {
            self.reload(store).await?;
        }
        Ok(applied)
    }

    pub fn numbering(&self) -> &Numbering {
        &self.numbering
    }

    fn read(&self) -> RwLockReadGuard<'_, Shelf> {
        self.shelf.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Shelf> {
        self.shelf.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A stored contact changed (or is new); a removed one leaves the book.
    pub fn put_contact(&self, contact: &Contact) {
        self.write().put_contact(contact);
    }

    /// A stored organization changed (or is new); a removed one leaves the book.
    pub fn put_organization(&self, organization: &Organization) {
        self.write().put_organization(organization);
    }

    pub fn remove_contact(&self, id: Id) {
        self.write().remove(Key::Contact(id));
    }

    /// Its contacts stay, without an organization (as the store does).
    pub fn remove_organization(&self, id: Id) {
        let mut shelf = self.write();
        shelf.remove(Key::Organization(id));
        shelf.fax_boxes.remove(&id);
        for card in shelf.cards.iter_mut().flatten() {
            if card.organization == id {
                card.organization = 0;
            }
        }
    }

    /// Names and numbers, ranked (see [`Index::search`]).
    ///
    /// A query written as a number (any form: national with its trunk prefix, `00`/`810`,
    /// a SIP, SIPS or tel URI, an extension) is read as the number first: its owners come
    /// first, then entries whose numbers hold the digits as typed.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Found> {
        let shelf = self.read();
        let user = number_text(query).unwrap_or(query);
        let number = self.number_query(query);
        let mut hits = match &number {
            Some(number) => shelf.index.search(number, limit),
            None => Vec::new(),
        };
        // Typed as filed (`+74951234567`): the number's search already was the digits' one.
        let digits = |text: &str| {
            text.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        };
        let typed_as_filed = number.as_deref().is_some_and(|n| digits(n) == digits(user));
        if !typed_as_filed {
            for hit in shelf.index.search(user, limit) {
                if hits.len() >= limit {
                    break;
                }
                if !hits.iter().any(|h| h.key == hit.key) {
                    hits.push(hit);
                }
            }
        }
        hits.into_iter()
            .filter_map(|hit| {
                let mut found = shelf.found(&hit)?;
                found.numbers_shown = shelf
                    .index
                    .numbers(hit.key)
                    .iter()
                    .map(|n| self.numbering.shown(n))
                    .collect();
                Some(found)
            })
            .collect()
    }

    /// The number a query is written as, filed the phone book's way.
    fn number_query(&self, query: &str) -> Option<String> {
        number_text(query).and_then(|text| self.numbering.key(text))
    }
}

impl Shelf {
    /// Indexes and files a contact (new or changed), or drops a removed one.
    fn put_contact(&mut self, contact: &Contact) {
        if contact.removed_at.is_some() {
            return self.remove(Key::Contact(contact.id));
        }
        let (entry, card) = contact_entry(BookContact::from(contact));
        self.file(entry, card);
    }

    /// Indexes and files an organization (new or changed), or drops a removed one. A removed
    /// organization's contacts keep their link, as the store does: it names nobody while it
    /// is out of the book, and again when it is back.
    fn put_organization(&mut self, organization: &Organization) {
        if organization.removed_at.is_some() {
            self.fax_boxes.remove(&organization.id);
            return self.remove(Key::Organization(organization.id));
        }
        self.file(
            organization_entry(organization),
            organization_card(organization),
        );
        self.file_fax_box(organization);
    }

    /// Indexes an entry and keeps its card at the entry's place.
    fn file(&mut self, entry: Entry, card: NewCard) {
        self.remove(entry.key);
        let key = entry.key;
        if let Some(place) = self.index.upsert(entry) {
            self.keep_card(key, place, card);
        }
    }

    /// Keeps the card of the entry the index placed at `place`.
    fn keep_card(&mut self, key: Key, place: u32, card: NewCard) {
        match (key, card.language) {
            (Key::Contact(id), Some(language)) => {
                self.languages.insert(id, language);
            }
            (Key::Contact(id), None) if !self.languages.is_empty() => {
                self.languages.remove(&id);
            }
            _ => {}
        }
        if self.names.wasteful() {
            self.compact_names();
        }
        let name = match self.names.push(&card.name) {
            Some(name) => name,
            None => {
                self.compact_names();
                self.names.push(&card.name).unwrap_or_default()
            }
        };
        let place = place as usize;
        if self.cards.len() <= place {
            self.cards.resize_with(place + 1, || None);
        }
        if let Some(slot) = self.cards.get_mut(place) {
            if let Some(replaced) = slot.take() {
                self.names.release(replaced.name);
            }
            *slot = Some(Card {
                name,
                organization: card.organization,
                priority: card.priority,
                vip: card.vip,
            });
        }
    }

    fn remove(&mut self, key: Key) {
        if let Key::Contact(id) = key {
            self.languages.remove(&id);
        }
        if let Some(place) = self.index.place(key) {
            self.index.remove(key);
            if let Some(card) = self.cards.get_mut(place as usize).and_then(Option::take) {
                self.names.release(card.name);
            }
        }
    }

    /// Copies the names in use into a fresh text.
    fn compact_names(&mut self) {
        let mut fresh = Names::default();
        for card in self.cards.iter_mut().flatten() {
            card.name = fresh.push(self.names.get(card.name)).unwrap_or_default();
        }
        self.names = fresh;
    }

    fn name(&self, card: &Card) -> &str {
        self.names.get(card.name)
    }

    fn card(&self, key: Key) -> Option<&Card> {
        self.cards.get(self.index.place(key)? as usize)?.as_ref()
    }

    fn found(&self, hit: &Hit) -> Option<Found> {
        let record = match hit.key {
            Key::Contact(id) => FoundRecord::Contact(id),
            Key::Organization(id) => FoundRecord::Organization(id),
        };
        let card = self.card(hit.key)?;
        Some(Found {
            record,
            name: self.name(card).to_owned(),
            organization: self.organization_of(card),
            vip: card.vip,
            score: hit.score,
            numbers_shown: Vec::new(),
        })
    }

    fn organization_of(&self, card: &Card) -> Option<Named> {
        let id = card.organization()?;
        self.card(Key::Organization(id)).map(|o| Named {
            id,
            name: self.name(o).to_owned(),
        })
    }

    /// The identity of a contact: its own standing and its organization's, whichever is higher.
    fn contact_identity(&self, id: Id, confidence: Confidence) -> Option<Identity> {
        let card = self.card(Key::Contact(id))?;
        let organization = card
            .organization()
            .and_then(|o| self.card(Key::Organization(o)));
        let vip = card.vip || organization.is_some_and(|o| o.vip);
        let priority = priority_raise(card.vip, card.priority)
            .max(organization.map_or(0, |o| priority_raise(o.vip, o.priority)));
        Some(Identity {
            label: Some(match organization {
                Some(o) => format!("{} - {}", self.name(card), self.name(o)),
                None => self.name(card).to_owned(),
            }),
            priority,
            confidence,
            contact: Some(Named {
                id,
                name: self.name(card).to_owned(),
            }),
            organization: self.organization_of(card),
            vip,
            e164: None,
            language: self.languages.get(&id).cloned(),
        })
    }

    fn organization_identity(&self, id: Id) -> Option<Identity> {
        let card = self.card(Key::Organization(id))?;
        Some(Identity {
            label: Some(self.name(card).to_owned()),
            priority: priority_raise(card.vip, card.priority),
            confidence: Confidence::Organization,
            contact: None,
            organization: Some(Named {
                id,
                name: self.name(card).to_owned(),
            }),
            vip: card.vip,
            e164: None,
            language: None,
        })
    }

    /// Exact number → contact (or an organization's own line); else an organization's range.
    fn by_number(&self, e164: &str) -> Option<Identity> {
        let keys = self.index.by_number(e164);
        let contact = keys.iter().find_map(|k| match k {
            Key::Contact(id) => self.contact_identity(*id, Confidence::Exact),
            Key::Organization(_) => None,
        });
        contact
            .or_else(|| {
                keys.iter().find_map(|k| match k {
                    Key::Organization(id) => self.organization_identity(*id),
                    Key::Contact(_) => None,
                })
            })
            .or_else(|| match self.index.by_range(e164) {
                Some((Key::Organization(id), _)) => self.organization_identity(id),
                _ => None,
            })
    }

    /// A caller-ID name close enough to exactly one contact's name.
    fn by_name(&self, name: &str) -> Option<Identity> {
        let hits = self.index.search(name, 2);
        let best = hits.first()?;
        let clear = hits
            .get(1)
            .is_none_or(|second| best.score - second.score >= FUZZY_MARGIN);
        match best.key {
            Key::Contact(id) if best.score >= FUZZY_ACCEPT && clear => {
                self.contact_identity(id, Confidence::Fuzzy)
            }
            _ => None,
        }
    }
}

/// Returns to the system the memory a load allocated and freed (the pages of rows read, the
/// index's growing lists): glibc keeps freed memory for reuse, and after loading a million
/// contacts that is over a hundred megabytes the process would hold for nothing.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointer of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A query that is written as a number: a SIP, SIPS or tel URI, or digits with only the
/// punctuation numbers are written with. A URI stands for its user part (the number).
fn number_text(query: &str) -> Option<&str> {
    let query = query.trim();
    let lower = query
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if ["sip:", "sips:", "tel:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        return crate::directory::number::user_part(query).ok();
    }
    let digits = query.chars().filter(char::is_ascii_digit).count();
    let written_as_number = query
        .chars()
        .all(|c| c.is_ascii_digit() || "+-().".contains(c) || c.is_whitespace());
    (digits >= 2 && written_as_number).then_some(query)
}

/// Caller-ID names that say nothing about who is calling: empty, the number itself, or a
/// carrier's placeholder.
fn says_nothing(name: &str) -> bool {
    let name = name.trim();
    name.is_empty()
        || name
            .chars()
            .all(|c| c.is_ascii_digit() || "+-() ".contains(c))
        || [
            "unknown",
            "anonymous",
            "restricted",
            "unavailable",
            "private",
            "wireless caller",
        ]
        .iter()
        .any(|w| name.eq_ignore_ascii_case(w))
}

impl PhoneBook {
    /// Where a fax to `e164` goes: the organization that lists it as one of its fax numbers,
    /// by name, with its fax mailboxes. Answered from memory.
    pub fn fax_mailboxes(&self, e164: &str) -> Option<(String, Vec<String>)> {
        let shelf = self.read();
        shelf
            .index
            .by_number(e164)
            .iter()
            .find_map(|key| match key {
                Key::Organization(id) => shelf
                    .fax_boxes
                    .get(id)
                    .filter(|b| b.lines.iter().any(|line| line == e164))
                    .map(|b| (b.name.clone(), b.mailboxes.clone())),
                Key::Contact(_) => None,
            })
    }

    /// Who calls from `number` written any way (the book's region reads national forms).
    pub fn identify_written(&self, number: &str, name: &str) -> Identity {
        let e164 = self.numbering.key(number);
        self.identify(e164.as_deref(), name)
    }
}

impl CallerIdentity for PhoneBook {
    fn identify(&self, e164: Option<&str>, name: &str) -> Identity {
        let shelf = self.read();
        let found = e164
            .and_then(|n| shelf.by_number(n))
            .or_else(|| (!says_nothing(name)).then(|| shelf.by_name(name)).flatten());
        Identity {
            e164: e164.map(str::to_owned),
            ..found.unwrap_or_default()
        }
    }
}
