//! The phone book's in-memory search index: who owns a number (asked on every incoming call),
//! which organization's DID block a number falls in, and the agent's search box (names in
//! either script with typos, swapped or cut short; fragments of numbers).
//!
//! It knows nothing of the store: it indexes [`Entry`] values, and whoever owns the book keeps
//! it in step with [`Index::upsert`] and [`Index::remove`]. It does no IO, and no query panics.
//!
//! How it stays fast with a million contacts:
//! - numbers are packed into a `u64` (digits, count, '+'), so `by_number` is one hash probe;
//! - a number's fragments are found through the postings of its runs of four digits (10,000
//!   lists of entries, a few thousand each) and of its last three digits, intersected rarest
//!   first and then checked;
//! - names are folded ([`translit::fold_words`](super::translit::fold_words)) into words, and a million contacts carry only
//!   tens of thousands of distinct words: typos and prefixes are matched against that
//!   vocabulary (a trigram index and a sorted map), and only the entries carrying the matching
//!   words are scored: first those carrying (a word like) every query word, found with bit
//!   sets, at most [`FULL_MATCH_CAP`]; then, if too few, those carrying the rarest ones.
//!
//! This file holds the [`Index`], its public API and what an entry is; `bulk` a whole book
//! appended at once; `digits` the packed
//! numbers, the digit-run lists, owners and DID blocks; `vocabulary` the name words and
//! their similarity; `rank` name queries, scoring and the order of the hits; `postings`
//! sorted slot lists and slot sets; `record` what the index keeps of one entry.

use std::collections::HashMap;

mod bulk;
mod digits;
mod owners;
mod postings;
mod rank;
mod record;
mod slots;
mod vocabulary;

use digits::{digit_query, Packed, END};
use owners::Owners;
use postings::{insert_sorted, remove_sorted};
use rank::NameSearch;
use record::{Record, Small, NAME_BREAK};
use slots::Slots;
use vocabulary::Vocabulary;

pub use bulk::Bulk;

/// What the index knows of one phone-book record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    /// A contact's display name(s) ("first last", aliases) or an organization's name.
    pub names: Vec<String>,
    /// E.164, e.g. `+74951234567`. Spaces, dashes, dots and parentheses are ignored; text that
    /// is not an optional '+' and 1 to 16 digits is not indexed.
    pub numbers: Vec<String>,
    /// E.164 prefixes of an organization's DID blocks, e.g. `+7495123`.
    pub ranges: Vec<String>,
}

impl Entry {
    /// An entry with one name and no DID blocks, as most contacts are.
    pub fn named(key: Key, name: &str, numbers: &[&str]) -> Entry {
        Entry {
            key,
            names: vec![name.to_owned()],
            numbers: numbers.iter().map(|n| n.to_string()).collect(),
            ranges: Vec::new(),
        }
    }
}

/// Which record an [`Entry`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Contact(i64),
    Organization(i64),
}

/// One search result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub key: Key,
    /// 0..=1, higher is better; comparable within one query's results only.
    pub score: f32,
    pub how: MatchKind,
}

/// Why a [`Hit`] matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// The query's digits are one of the entry's numbers.
    Number,
    /// One of the entry's numbers ends with the query's digits.
    NumberEnd,
    /// One of the entry's numbers contains the query's digits.
    NumberPart,
    /// Every query word is one of the entry's name words (in any order, after folding).
    Name,
    /// Some query words matched by prefix or with typos, or did not match.
    Fuzzy,
}

/// Sizes, for the log line after a (re)build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    pub entries: usize,
    /// Distinct folded name words.
    pub words: usize,
    /// Distinct numbers.
    pub numbers: usize,
    /// Distinct DID-block prefixes.
    pub ranges: usize,
}

/// Longer queries are cut: nobody types this much into a search box, and the cost of a query
/// grows with its words.
pub const MAX_QUERY_CHARS: usize = 256;
/// Query words beyond this are ignored (the assignment of query words to name words is
/// exponential in their count).
pub const MAX_QUERY_WORDS: usize = 6;
/// At most this many entries that carry every query word (or a word like it) are scored per
/// name query. A query made only of the most common first name ranks the first
/// `FULL_MATCH_CAP` entries carrying it (best-matching word first, then in index order), not
/// all of them.
pub const FULL_MATCH_CAP: usize = 5_000;
/// When fewer than `limit` entries match every query word, at most this many more, carrying
/// the rarest ones, are scored to fill the list.
pub const PARTIAL_MATCH_CAP: usize = 1_000;
/// At most this many entries are checked per digit query for the fragment inside a number (a
/// three-digit fragment can be in a third of the book, and only `limit` are shown); those with
/// a number ending with the fragment, or equal to it, are all checked.
pub const DIGIT_SCAN_CAP: usize = 2_000;

/// Names per entry and words per name that are indexed; the rest is ignored.
const MAX_NAMES: usize = 8;
const MAX_NAME_WORDS: usize = 16;

/// The phone book's search index. Not synchronised: wrap it (an `RwLock`, or a fresh build
/// swapped in) to share it between tasks.
pub struct Index {
    /// By slot; `None` for a slot freed by `remove` and not reused yet.
    records: Vec<Option<Record>>,
    free: Vec<u32>,
    slots: Slots,
    vocab: Vocabulary,
    /// Number → the slot of its owner, for the numbers only one entry has.
    numbers: Owners,
    /// Number → its owners, sorted, for the numbers several entries share (never fewer than
    /// two; a number is in `numbers` or here, not both).
    shared: HashMap<Packed, Vec<Key>>,
    /// Four digits `g` (0000..=9999) → sorted slots of the entries with a number containing
    /// them; `END + g` for three digits (000..=999) → those with a number ending with them.
    digit_postings: Vec<Vec<u32>>,
    /// DID-block prefix → organizations, sorted.
    ranges: HashMap<Packed, Vec<Key>>,
    /// Bit n set: some range prefix has n digits (never cleared: a stale bit costs one probe).
    range_lengths: u32,
    ranges_of: HashMap<Key, Box<[Packed]>>,
}

impl Default for Index {
    fn default() -> Index {
        Index::new()
    }
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Index").field(&self.stats()).finish()
    }
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index {
            records: Vec::new(),
            free: Vec::new(),
            slots: Slots::default(),
            vocab: Vocabulary::default(),
            numbers: Owners::default(),
            shared: HashMap::new(),
            digit_postings: vec![Vec::new(); END + 1000],
            ranges: HashMap::new(),
            range_lengths: 0,
            ranges_of: HashMap::new(),
        }
    }

    /// Indexes a whole book at once; a key given twice keeps its last entry.
    pub fn build(entries: impl IntoIterator<Item = Entry>) -> Index {
        let entries = entries.into_iter();
        let mut bulk = Index::new().bulk(entries.size_hint().0);
        for entry in entries {
            bulk.add(entry);
        }
        bulk.finish()
    }

    /// Adds an entry, or replaces everything the index knew of its key (names, numbers,
    /// ranges). Returns the entry's place: a small number that stays the entry's until it is
    /// removed, for whoever keeps more of each entry beside the index (see [`Index::place`]).
    /// `None` only when the index is full (2³² entries).
    pub fn upsert(&mut self, entry: Entry) -> Option<u32> {
        self.remove(entry.key);
        let slot = self.allocate()?;
        let key = entry.key;
        let words = self.link_names(&entry.names, slot);
        let mut numbers: Vec<Packed> = entry
            .numbers
            .iter()
            .filter_map(|n| Packed::parse(n))
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        for &number in &numbers {
            self.add_owner(number, key, slot);
        }
        for gram in Index::grams_of(&numbers) {
            if let Some(list) = self.digit_postings.get_mut(gram) {
                insert_sorted(list, slot);
            }
        }
        self.link_ranges(key, &entry.ranges);
        if let Some(place) = self.records.get_mut(slot as usize) {
            *place = Some(Record {
                key,
                words: Small::new(&words),
                numbers: Small::new(&numbers),
            });
        }
        self.slots.insert(&self.records, key, slot);
        if self.numbers.unsettled() {
            self.numbers.settle();
        }
        Some(slot)
    }

    /// The place [`Index::upsert`] gave the entry, while it is indexed.
    pub fn place(&self, key: Key) -> Option<u32> {
        self.slots.get(&self.records, key)
    }

    /// The numbers an entry is filed under (`+74951234567`, an extension's digits; not its
    /// ranges), in digit order; none when it is not indexed.
    pub fn numbers(&self, key: Key) -> Vec<String> {
        self.place(key)
            .and_then(|slot| self.record(slot))
            .map(|record| record.numbers.as_slice().iter().map(|n| n.text()).collect())
            .unwrap_or_default()
    }

    /// Forgets an entry. False if the key was not indexed.
    pub fn remove(&mut self, key: Key) -> bool {
        let Some(slot) = self.slots.remove(&self.records, key) else {
            return false;
        };
        let Some(record) = self.records.get_mut(slot as usize).and_then(Option::take) else {
            return false;
        };
        for &word in record.words.as_slice().iter().filter(|&&w| w != NAME_BREAK) {
            self.vocab.unlink(word, slot);
        }
        for &number in record.numbers.as_slice() {
            self.remove_owner(number, key, slot);
        }
        for gram in Index::grams_of(record.numbers.as_slice()) {
            if let Some(list) = self.digit_postings.get_mut(gram) {
                remove_sorted(list, slot);
            }
        }
        for prefix in self.ranges_of.remove(&key).unwrap_or_default().iter() {
            if let Some(owners) = self.ranges.get_mut(prefix) {
                owners.retain(|&owner| owner != key);
                if owners.is_empty() {
                    self.ranges.remove(prefix);
                }
            }
        }
        self.free.push(slot);
        true
    }

    /// The entries that have this exact number (after dropping spaces, dashes, dots and
    /// parentheses; a '+' must match). One hash probe, and a second for an unknown number.
    pub fn by_number(&self, e164: &str) -> &[Key] {
        let Some(number) = Packed::parse(e164) else {
            return &[];
        };
        match self.numbers.get(number).and_then(|slot| self.record(slot)) {
            Some(owner) => std::slice::from_ref(&owner.key),
            None => self.shared.get(&number).map_or(&[], Vec::as_slice),
        }
    }

    /// The organization whose DID block is the longest prefix of `e164`, and that prefix's
    /// length in digits. Where two organizations declared the same block, the lower key wins.
    pub fn by_range(&self, e164: &str) -> Option<(Key, usize)> {
        let number = Packed::parse(e164)?;
        let digits = number.digits();
        (1..=digits.len)
            .rev()
            .filter(|&len| self.range_lengths & (1 << len) != 0)
            .find_map(|len| {
                let prefix = Packed::from_digits(number.plus(), &digits.as_bytes()[..len])?;
                Some((*self.ranges.get(&prefix)?.first()?, len))
            })
    }

    /// The best `limit` entries for what an agent typed, best first; ties go to the
    /// alphabetically first (folded) name, then the lower key.
    ///
    /// A query of at least three digits, and at least twice as many digits as other
    /// characters besides `+ - ( ) .` and spaces, is a number fragment: every entry with a
    /// number containing those digits, the number itself first, then numbers ending with them.
    /// Anything else is a name: words in any order and either script, with typos, variant
    /// spellings and prefixes ("alek rev").
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        if limit == 0 {
            return Vec::new();
        }
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        let hits = match digit_query(&query) {
            Some(digits) => self.search_digits(&digits),
            None => NameSearch::new(self, &query).map_or_else(Vec::new, |search| search.run(limit)),
        };
        self.rank(hits, limit)
    }

    /// Sizes, for logging.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            entries: self.slots.len(),
            words: self.vocab.ids.len(),
            numbers: self.numbers.len() + self.shared.len(),
            ranges: self.ranges.len(),
        }
    }

    fn allocate(&mut self) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            return Some(slot);
        }
        let slot = u32::try_from(self.records.len()).ok()?;
        self.records.push(None);
        Some(slot)
    }

    /// Packs what bulk appends left loose: settles the numbers' owners (see
    /// [`owners`](self::owners)) and returns spare capacity. [`Index::build`] does it; whoever
    /// fills an index with [`Index::upsert`] calls it after a bulk load.
    pub fn compact(&mut self) {
        self.numbers.settle();
        self.records.shrink_to_fit();
        self.digit_postings.iter_mut().for_each(Vec::shrink_to_fit);
        self.vocab
            .words
            .iter_mut()
            .for_each(|w| w.postings.shrink_to_fit());
        self.shared.shrink_to_fit();
        self.slots.shrink(&self.records);
    }

    fn record(&self, slot: u32) -> Option<&Record> {
        self.records.get(slot as usize)?.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn contact(id: i64, name: &str, numbers: &[&str]) -> Entry {
        Entry::named(Key::Contact(id), name, numbers)
    }

    #[test]
    fn removing_the_last_carrier_of_a_word_frees_it() {
        let mut index = Index::build([contact(1, "Zebedee Quux", &["+15550001"])]);
        assert_eq!(index.stats().words, 2);
        index.upsert(contact(1, "Zebedee Smith", &["+15550001"]));
        assert_eq!(index.stats().words, 2);
        assert!(index.search("quux", 5).is_empty());
        assert!(index.remove(Key::Contact(1)));
        assert!(!index.remove(Key::Contact(1)));
        assert_eq!(
            index.stats(),
            IndexStats {
                entries: 0,
                words: 0,
                numbers: 0,
                ranges: 0
            }
        );
        assert!(index.vocab.grams.is_empty());
        assert!(index.digit_postings.iter().all(Vec::is_empty));
    }

    #[test]
    fn odd_queries_do_not_panic() {
        let index = Index::build([contact(1, "Алексей Ревенко", &["+74951234567"])]);
        let long = "я".repeat(100_000);
        let digits = "1".repeat(1000);
        let xs = "x".repeat(40);
        for query in [
            "",
            " ",
            "🙂🙂🙂",
            "a",
            "+",
            "---",
            "ß",
            "İ",
            &long,
            &digits,
            "\u{301}",
            "a\0b",
            &xs,
        ] {
            let _ = index.search(query, 10);
            let _ = index.by_number(query);
            let _ = index.by_range(query);
        }
        assert!(index.search("ревенко", 0).is_empty());
    }
}
