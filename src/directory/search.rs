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
//! - names are folded ([`translit::fold_words`]) into words, and a million contacts carry only
//!   tens of thousands of distinct words: typos and prefixes are matched against that
//!   vocabulary (a trigram index and a sorted map), and only the entries carrying the matching
//!   words are scored: first those carrying (a word like) every query word, found with bit
//!   sets, at most [`FULL_MATCH_CAP`]; then, if too few, those carrying the rarest ones.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use super::translit;

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
/// At most this many entries carrying one query word are walked (not scored: checked against
/// the other words' bit sets), so that a prefix of one letter stays cheap.
const SCAN_CAP: usize = 200_000;

/// Names per entry and words per name that are indexed; the rest is ignored.
const MAX_NAMES: usize = 8;
const MAX_NAME_WORDS: usize = 16;
/// Vocabulary words considered per query word, best first.
const WORD_CANDIDATES: usize = 64;
/// Words taken from the sorted vocabulary for a prefix.
const PREFIX_CAP: usize = 64;
/// When a query word is itself in the vocabulary, the other words it brings in must be at
/// least this similar: "jones" should not bring every "john" (two edits) to score.
const NEAR_EXACT: f32 = 0.75;
/// Similarity of a one-letter query word to a name word it begins: an initial.
const INITIAL: f32 = 0.5;
/// Share of an entry's score that does not depend on how many of its name words the query
/// covered: "smith" finds "Smith" and "John Smith", the first a little higher.
const COVER_BASE: f32 = 0.85;
/// Separates an entry's names in [`Record::words`].
const NAME_BREAK: u32 = u32::MAX;
/// Longest number kept, in digits (E.164 allows 15).
const MAX_DIGITS: usize = 16;

/// A number as the index keeps it: the '+' flag, the count of digits and their value in one
/// `u64`, so the per-call lookup hashes 8 bytes and each number costs 8 bytes per entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Packed(u64);

/// The digits of a [`Packed`] number, as ASCII.
struct Digits {
    buf: [u8; MAX_DIGITS],
    len: usize,
}

impl Digits {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Packed {
    const VALUE_BITS: u32 = 54;
    const LEN_SHIFT: u32 = 58;
    const PLUS: u64 = 1 << 63;

    /// An optional '+' and 1..=16 digits, with spaces, dashes, dots and parentheses ignored.
    fn parse(text: &str) -> Option<Packed> {
        let text = text.trim();
        let (plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut digits = [0u8; MAX_DIGITS];
        let mut len = 0;
        for c in rest.chars() {
            match c {
                '0'..='9' => {
                    *digits.get_mut(len)? = c as u8;
                    len += 1;
                }
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return None,
            }
        }
        Packed::from_digits(plus, &digits[..len])
    }

    /// `digits` are ASCII digits, 1..=16 of them.
    fn from_digits(plus: bool, digits: &[u8]) -> Option<Packed> {
        if digits.is_empty() || digits.len() > MAX_DIGITS {
            return None;
        }
        let value = digits
            .iter()
            .fold(0u64, |v, d| v * 10 + u64::from(d.wrapping_sub(b'0') % 10));
        let plus = if plus { Packed::PLUS } else { 0 };
        Some(Packed(
            plus | ((digits.len() as u64) << Packed::LEN_SHIFT) | value,
        ))
    }

    fn plus(self) -> bool {
        self.0 & Packed::PLUS != 0
    }

    fn digits(self) -> Digits {
        let len = ((self.0 >> Packed::LEN_SHIFT) & 0x1f) as usize;
        let len = len.min(MAX_DIGITS);
        let mut value = self.0 & ((1 << Packed::VALUE_BITS) - 1);
        let mut buf = [b'0'; MAX_DIGITS];
        for d in buf[..len].iter_mut().rev() {
            *d = b'0' + (value % 10) as u8;
            value /= 10;
        }
        Digits { buf, len }
    }
}

/// The runs of `n` digits of a run of ASCII digits, as numbers (0..10ⁿ).
fn digit_grams(digits: &[u8], n: usize) -> impl Iterator<Item = usize> + '_ {
    digits.windows(n).map(|w| {
        w.iter().fold(0usize, |code, d| {
            code * 10 + usize::from(d.wrapping_sub(b'0') % 10)
        })
    })
}

/// Adds `id` to a sorted posting list. Bulk builds append, so that case comes first.
fn insert_sorted(list: &mut Vec<u32>, id: u32) {
    match list.last() {
        None => list.push(id),
        Some(&last) if last < id => list.push(id),
        Some(_) => {
            if let Err(at) = list.binary_search(&id) {
                list.insert(at, id);
            }
        }
    }
}

fn remove_sorted(list: &mut Vec<u32>, id: u32) {
    if let Ok(at) = list.binary_search(&id) {
        list.remove(at);
    }
}

/// One distinct folded word, and the sorted slots of the entries that carry it.
#[derive(Default)]
struct Word {
    text: Box<str>,
    chars: u8,
    postings: Vec<u32>,
}

/// The distinct name words. Fuzzy matching runs over this, not over the entries.
#[derive(Default)]
struct Vocabulary {
    /// By word id; a released id has an empty text until it is reused.
    words: Vec<Word>,
    /// Sorted, for exact and prefix lookups.
    ids: BTreeMap<Box<str>, u32>,
    /// Trigram (three chars, the word padded at both ends) → ids of the words containing it.
    grams: HashMap<u64, Vec<u32>>,
    free: Vec<u32>,
}

/// The trigrams of a word padded with a start and an end mark, so that even a one-letter word
/// has one and the first and last letters weigh as much as the middle ones.
fn word_grams(text: &str) -> impl Iterator<Item = u64> {
    let chars: Vec<char> = std::iter::once('\u{1}')
        .chain(text.chars())
        .chain(std::iter::once('\u{2}'))
        .collect();
    (0..chars.len().saturating_sub(2)).map(move |i| {
        (u64::from(chars[i]) << 42) | (u64::from(chars[i + 1]) << 21) | u64::from(chars[i + 2])
    })
}

impl Vocabulary {
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let word = Word {
            text: text.into(),
            chars: text.chars().count().min(usize::from(u8::MAX)) as u8,
            postings: Vec::new(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.words[id as usize] = word;
                id
            }
            None => {
                self.words.push(word);
                (self.words.len() - 1) as u32
            }
        };
        self.ids.insert(text.into(), id);
        for gram in word_grams(text) {
            self.grams.entry(gram).or_default().push(id);
        }
        id
    }

    /// Drops `slot` from the word's postings, and the word itself once nobody carries it, so
    /// that edits over months do not grow the vocabulary.
    fn unlink(&mut self, id: u32, slot: u32) {
        let Some(word) = self.words.get_mut(id as usize) else {
            return;
        };
        remove_sorted(&mut word.postings, slot);
        if !word.postings.is_empty() || word.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut word.text);
        word.postings = Vec::new();
        self.ids.remove(&text);
        for gram in word_grams(&text) {
            if let Some(list) = self.grams.get_mut(&gram) {
                list.retain(|&other| other != id);
                if list.is_empty() {
                    self.grams.remove(&gram);
                }
            }
        }
        self.free.push(id);
    }

    fn text(&self, id: u32) -> &str {
        self.words.get(id as usize).map_or("", |w| &w.text)
    }

    fn postings(&self, id: u32) -> &[u32] {
        self.words.get(id as usize).map_or(&[], |w| &w.postings)
    }

    /// The vocabulary words similar to the query word `q`, best first: itself, the words it
    /// begins (partial words, initials), and the words within one or two edits of it.
    fn candidates(&self, q: &QueryWord, counts: &mut GramCounts) -> Vec<(u32, f32)> {
        let mut found: Vec<(u32, f32)> = Vec::new();
        let prefixed = self
            .ids
            .range::<str, _>((Bound::Included(q.text.as_str()), Bound::Unbounded))
            .take_while(|(text, _)| text.starts_with(q.text.as_str()))
            .take(PREFIX_CAP);
        for (_, &id) in prefixed {
            found.push((id, self.similarity(q, id)));
        }
        if q.chars >= 2 {
            // The lengths `word_similarity` can accept: its edits depend on the longer word.
            let edits = max_edits(q.chars);
            let lengths = q.chars.saturating_sub(edits)..=q.chars + 2;
            for gram in word_grams(&q.text) {
                for &id in self.grams.get(&gram).map_or(&[][..], Vec::as_slice) {
                    let chars = self
                        .words
                        .get(id as usize)
                        .map_or(0, |w| usize::from(w.chars));
                    if lengths.contains(&chars) {
                        counts.add(id);
                    }
                }
            }
            // k edits destroy at most 3k of the query's trigrams.
            let needed = q.chars.saturating_sub(3 * edits).max(1);
            for id in counts.drain(needed) {
                found.push((id, self.similarity(q, id)));
            }
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let least = match found.first() {
            Some(&(_, best)) if best >= 1.0 => NEAR_EXACT,
            _ => f32::MIN_POSITIVE,
        };
        found.retain(|&(_, sim)| sim >= least);
        found.dedup_by_key(|(id, _)| *id);
        found.truncate(WORD_CANDIDATES);
        found
    }

    fn similarity(&self, q: &QueryWord, id: u32) -> f32 {
        match self.words.get(id as usize) {
            Some(word) => word_similarity(q, &word.text, usize::from(word.chars)),
            None => 0.0,
        }
    }
}

/// Edits tolerated in a word of `chars` characters: one in a short word, two in a longer one.
fn max_edits(chars: usize) -> usize {
    if chars <= 4 {
        1
    } else {
        2
    }
}

/// How well a query word matches a name word (both folded), 0..=1:
/// - 1 for the same word;
/// - 0.6..0.95 for a prefix, more the more of the word it covers ("smith" of "smithers"), and
///   [`INITIAL`] for a single letter;
/// - 1 − d/(n+1) for d ≤ 1 edit (2 beyond four letters) of optimal string alignment (which
///   counts a swap of two neighbours as one), n the longer length: "aleksi"/"aleksei" 0.875;
/// - 0 otherwise.
fn word_similarity(q: &QueryWord, word: &str, word_chars: usize) -> f32 {
    if q.text == word {
        return 1.0;
    }
    if word.starts_with(q.text.as_str()) {
        return if q.chars == 1 {
            INITIAL
        } else {
            0.6 + 0.35 * q.chars as f32 / word_chars.max(1) as f32
        };
    }
    let longer = q.chars.max(word_chars);
    let edits = max_edits(longer);
    if q.chars < 2 || q.chars.abs_diff(word_chars) > edits {
        return 0.0;
    }
    let distance = strsim::osa_distance(&q.text, word);
    if distance > edits {
        return 0.0;
    }
    1.0 - distance as f32 / (longer + 1) as f32
}

/// Per-search scratch for counting shared trigrams per vocabulary word.
struct GramCounts {
    counts: Vec<u8>,
    touched: Vec<u32>,
}

impl GramCounts {
    fn new(words: usize) -> GramCounts {
        GramCounts {
            counts: vec![0; words],
            touched: Vec::new(),
        }
    }

    fn add(&mut self, id: u32) {
        if let Some(count) = self.counts.get_mut(id as usize) {
            if *count == 0 {
                self.touched.push(id);
            }
            *count = count.saturating_add(1);
        }
    }

    /// The words counted at least `needed` times; resets the counts.
    fn drain(&mut self, needed: usize) -> Vec<u32> {
        let mut passed = Vec::new();
        for id in self.touched.drain(..) {
            if let Some(count) = self.counts.get_mut(id as usize) {
                if usize::from(*count) >= needed {
                    passed.push(id);
                }
                *count = 0;
            }
        }
        passed
    }
}

/// A folded query word.
struct QueryWord {
    text: String,
    chars: usize,
}

/// Similarities of each query word to the vocabulary words, filled as entries are scored, so
/// each pair is compared once per query whatever the number of entries carrying the word.
struct Similarities {
    /// `words × query words`, 0 = not computed yet, else similarity + 1.
    known: Vec<f32>,
    width: usize,
}

impl Similarities {
    fn new(words: usize, width: usize) -> Similarities {
        Similarities {
            known: vec![0.0; words * width],
            width,
        }
    }

    fn set(&mut self, word: u32, q: usize, sim: f32) {
        if let Some(cell) = self.known.get_mut(word as usize * self.width + q) {
            *cell = sim + 1.0;
        }
    }

    fn get(&mut self, vocab: &Vocabulary, words: &[QueryWord], word: u32, q: usize) -> f32 {
        let Some(cell) = self.known.get_mut(word as usize * self.width + q) else {
            return 0.0;
        };
        if *cell == 0.0 {
            *cell = words.get(q).map_or(0.0, |qw| vocab.similarity(qw, word)) + 1.0;
        }
        *cell - 1.0
    }
}

/// A set of slots, one bit each.
struct SlotSet(Vec<u64>);

impl SlotSet {
    fn new(slots: usize) -> SlotSet {
        SlotSet(vec![0; slots.div_ceil(64)])
    }

    /// True if `slot` was not in the set.
    fn insert(&mut self, slot: u32) -> bool {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        match self.0.get_mut(word) {
            Some(bits) if *bits & bit == 0 => {
                *bits |= bit;
                true
            }
            _ => false,
        }
    }

    fn contains(&self, slot: u32) -> bool {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        self.0.get(word).is_some_and(|bits| bits & bit != 0)
    }
}

/// An entry before ranking, with what ranking needs so that it reads no record.
#[derive(Clone, Copy)]
struct Scored {
    key: Key,
    score: f32,
    how: MatchKind,
    /// Breaks ties between equal scores: how close every query word is to the name's words
    /// letter by letter (see [`NameSearch::break_ties`]); 0 where nothing needed it.
    closeness: f32,
    /// See [`Record::sort_name`].
    name: [u32; 3],
}

/// Up to `N` values in place, more on the heap. Most entries have two or three name words and
/// one or two numbers: kept in the record, they cost no allocation, and scoring or checking an
/// entry reads its record and nothing else (a pointer to follow was most of a search's time).
enum Small<T, const N: usize> {
    Inline { len: u8, values: [T; N] },
    Heap(Box<[T]>),
}

impl<T: Copy + Default, const N: usize> Small<T, N> {
    fn new(values: &[T]) -> Small<T, N> {
        match values.len() {
            len if len <= N => {
                let mut inline = [T::default(); N];
                inline[..len].copy_from_slice(values);
                Small::Inline {
                    len: len as u8,
                    values: inline,
                }
            }
            _ => Small::Heap(values.into()),
        }
    }

    fn as_slice(&self) -> &[T] {
        match self {
            Small::Inline { len, values } => values.get(..usize::from(*len)).unwrap_or_default(),
            Small::Heap(values) => values,
        }
    }
}

/// What the index keeps of an entry: one cache line.
#[repr(align(64))]
struct Record {
    key: Key,
    /// Word ids of each name, names separated by [`NAME_BREAK`].
    words: Small<u32, 5>,
    numbers: Small<Packed, 2>,
}

impl Record {
    /// The first three words of the first name, [`NAME_BREAK`] where there are fewer: what
    /// ties are broken by.
    fn sort_name(&self) -> [u32; 3] {
        let mut name = [NAME_BREAK; 3];
        let first = self.names().next().unwrap_or_default();
        for (place, &word) in name.iter_mut().zip(first) {
            *place = word;
        }
        name
    }

    fn names(&self) -> impl Iterator<Item = &[u32]> {
        self.words
            .as_slice()
            .split(|&w| w == NAME_BREAK)
            .filter(|name| !name.is_empty())
    }
}

/// The phone book's search index. Not synchronised: wrap it (an `RwLock`, or a fresh build
/// swapped in) to share it between tasks.
pub struct Index {
    /// By slot; `None` for a slot freed by `remove` and not reused yet.
    records: Vec<Option<Record>>,
    free: Vec<u32>,
    slots: HashMap<Key, u32>,
    vocab: Vocabulary,
    /// Number → its owner, for the numbers only one entry has: the answer is in the probe.
    numbers: HashMap<Packed, Key>,
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

/// Offset of the end-of-number lists in [`Index::digit_postings`].
const END: usize = 10_000;

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
            slots: HashMap::new(),
            vocab: Vocabulary::default(),
            numbers: HashMap::new(),
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
        let mut index = Index::new();
        let expected = entries.size_hint().0;
        index.records.reserve(expected);
        index.slots.reserve(expected);
        for entry in entries {
            index.upsert(entry);
        }
        index.shrink();
        index
    }

    /// Adds an entry, or replaces everything the index knew of its key (names, numbers,
    /// ranges).
    pub fn upsert(&mut self, entry: Entry) {
        self.remove(entry.key);
        let Some(slot) = self.allocate() else {
            return;
        };
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
            self.add_owner(number, key);
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
        self.slots.insert(key, slot);
    }

    /// Forgets an entry. False if the key was not indexed.
    pub fn remove(&mut self, key: Key) -> bool {
        let Some(slot) = self.slots.remove(&key) else {
            return false;
        };
        let Some(record) = self.records.get_mut(slot as usize).and_then(Option::take) else {
            return false;
        };
        for &word in record.words.as_slice().iter().filter(|&&w| w != NAME_BREAK) {
            self.vocab.unlink(word, slot);
        }
        for &number in record.numbers.as_slice() {
            self.remove_owner(number, key);
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
        match self.numbers.get(&number) {
            Some(owner) => std::slice::from_ref(owner),
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

    /// Returns the capacity that bulk appends left over.
    fn shrink(&mut self) {
        self.records.shrink_to_fit();
        self.digit_postings.iter_mut().for_each(Vec::shrink_to_fit);
        self.vocab
            .words
            .iter_mut()
            .for_each(|w| w.postings.shrink_to_fit());
        self.numbers.shrink_to_fit();
        self.slots.shrink_to_fit();
    }

    fn record(&self, slot: u32) -> Option<&Record> {
        self.records.get(slot as usize)?.as_ref()
    }

    /// Interns the words of each name and posts `slot` under them.
    fn link_names(&mut self, names: &[String], slot: u32) -> Vec<u32> {
        let mut ids = Vec::new();
        for name in names.iter().take(MAX_NAMES) {
            let words = translit::fold_words(name);
            if words.is_empty() {
                continue;
            }
            if !ids.is_empty() {
                ids.push(NAME_BREAK);
            }
            for word in words.iter().take(MAX_NAME_WORDS) {
                let id = self.vocab.intern(word);
                if let Some(w) = self.vocab.words.get_mut(id as usize) {
                    insert_sorted(&mut w.postings, slot);
                }
                ids.push(id);
            }
        }
        ids
    }

    fn link_ranges(&mut self, key: Key, ranges: &[String]) {
        let mut prefixes: Vec<Packed> = ranges.iter().filter_map(|r| Packed::parse(r)).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        if prefixes.is_empty() {
            return;
        }
        for &prefix in &prefixes {
            let owners = self.ranges.entry(prefix).or_default();
            if let Err(at) = owners.binary_search(&key) {
                owners.insert(at, key);
            }
            self.range_lengths |= 1 << prefix.digits().len;
        }
        self.ranges_of.insert(key, prefixes.into_boxed_slice());
    }

    /// The distinct runs of four digits of an entry's numbers, and their last three digits.
    fn grams_of(numbers: &[Packed]) -> Vec<usize> {
        let mut grams = Vec::new();
        for number in numbers {
            let digits = number.digits();
            grams.extend(digit_grams(digits.as_bytes(), 4));
            grams.extend(digit_grams(digits.as_bytes(), 3).last().map(|g| END + g));
        }
        grams.sort_unstable();
        grams.dedup();
        grams
    }

    fn add_owner(&mut self, number: Packed, key: Key) {
        if let Some(owners) = self.shared.get_mut(&number) {
            if let Err(at) = owners.binary_search(&key) {
                owners.insert(at, key);
            }
            return;
        }
        match self.numbers.get(&number) {
            None => {
                self.numbers.insert(number, key);
            }
            Some(&other) if other != key => {
                self.numbers.remove(&number);
                self.shared
                    .insert(number, vec![other.min(key), other.max(key)]);
            }
            Some(_) => {}
        }
    }

    fn remove_owner(&mut self, number: Packed, key: Key) {
        if self.numbers.get(&number) == Some(&key) {
            self.numbers.remove(&number);
            return;
        }
        let Some(owners) = self.shared.get_mut(&number) else {
            return;
        };
        owners.retain(|&k| k != key);
        if let [last] = owners[..] {
            self.shared.remove(&number);
            self.numbers.insert(number, last);
        }
    }

    /// The entries whose numbers contain `digits`: all of those with a number ending with them
    /// (few, found through the last-three-digits lists), then the first [`DIGIT_SCAN_CAP`] of
    /// the others. Each is checked against its numbers: runs of digits in common do not make
    /// a fragment.
    fn search_digits(&self, digits: &[u8]) -> Vec<Scored> {
        if digits.len() > MAX_DIGITS {
            return Vec::new();
        }
        let Some(last) = digit_grams(digits, 3).last() else {
            return Vec::new();
        };
        let list = |code: usize| self.digit_postings.get(code).map_or(&[][..], Vec::as_slice);
        let mut slots = Vec::new();
        if digits.len() >= 4 {
            let mut runs: Vec<usize> = digit_grams(digits, 4).collect();
            runs.sort_unstable();
            runs.dedup();
            let anywhere: Vec<&[u32]> = runs.iter().map(|&r| list(r)).collect();
            let mut at_end = anywhere.clone();
            at_end.push(list(END + last));
            slots.extend(intersect(at_end, usize::MAX));
            slots.extend(intersect(anywhere, DIGIT_SCAN_CAP));
        } else {
            // Three digits not at the end of a number are followed by a fourth.
            slots.extend_from_slice(list(END + last));
            for next in 0..10 {
                let room = DIGIT_SCAN_CAP.saturating_sub(slots.len());
                slots.extend(list(last * 10 + next).iter().take(room));
            }
        }
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .filter_map(|slot| self.match_number(slot, digits))
            .collect()
    }

    /// How well the entry's best number matches a digit fragment.
    fn match_number(&self, slot: u32, digits: &[u8]) -> Option<Scored> {
        let record = self.record(slot)?;
        let (score, how) = record
            .numbers
            .as_slice()
            .iter()
            .filter_map(|n| number_match(digits, n.digits().as_bytes()))
            .max_by(|a, b| a.0.total_cmp(&b.0))?;
        Some(Scored {
            key: record.key,
            score,
            how,
            closeness: 0.0,
            name: record.sort_name(),
        })
    }

    /// The best of the entry's names against the query words; with whether every query word
    /// found a name word.
    fn score_names(
        &self,
        slot: u32,
        words: &[QueryWord],
        sims: &mut Similarities,
    ) -> Option<(Scored, bool)> {
        let record = self.record(slot)?;
        let mut best: Option<(Scored, bool)> = None;
        for name in record.names() {
            let name = &name[..name.len().min(MAX_NAME_WORDS)];
            let mut rows = [[0f32; MAX_QUERY_WORDS]; MAX_NAME_WORDS];
            for (row, &word) in rows.iter_mut().zip(name) {
                for (q, cell) in row.iter_mut().enumerate().take(words.len()) {
                    *cell = sims.get(&self.vocab, words, word, q);
                }
            }
            let (sum, matched) = best_assignment(&rows[..name.len()], words.len());
            if matched == 0 {
                continue;
            }
            // Written so that a full cover multiplies by exactly 1.
            let coverage = matched as f32 / name.len() as f32;
            let cover = 1.0 - (1.0 - COVER_BASE) * (1.0 - coverage);
            let score = (sum / words.len() as f32) * cover;
            let how = if sum >= words.len() as f32 {
                MatchKind::Name
            } else {
                MatchKind::Fuzzy
            };
            let candidate = (
                Scored {
                    key: record.key,
                    score: score.clamp(0.0, 1.0),
                    how,
                    closeness: 0.0,
                    name: record.sort_name(),
                },
                matched == words.len(),
            );
            if best.is_none_or(|(b, _)| candidate.0.score > b.score) {
                best = Some(candidate);
            }
        }
        best
    }

    /// The best, over the entry's names, of the summed Jaro-Winkler similarity of each query
    /// word to its nearest word of that name.
    fn closeness(&self, key: Key, words: &[QueryWord]) -> f32 {
        let Some(record) = self.slots.get(&key).and_then(|&slot| self.record(slot)) else {
            return 0.0;
        };
        record
            .names()
            .map(|name| {
                words
                    .iter()
                    .map(|q| {
                        name.iter()
                            .map(|&w| strsim::jaro_winkler(&q.text, self.vocab.text(w)) as f32)
                            .fold(0.0, f32::max)
                    })
                    .sum::<f32>()
            })
            .fold(0.0, f32::max)
    }

    /// Sorts best first and keeps `limit`: score, then closeness, then the first three words
    /// of the name in folded alphabetical order, then key.
    fn rank(&self, hits: Vec<Scored>, limit: usize) -> Vec<Hit> {
        let alphabetical = self.alphabetical_ranks(&hits);
        let place = |word: u32| alphabetical.get(word as usize).copied().unwrap_or(0);
        let mut ranked: Vec<(Scored, [u32; 3])> =
            hits.into_iter().map(|h| (h, h.name.map(place))).collect();
        let order = |a: &(Scored, [u32; 3]), b: &(Scored, [u32; 3])| {
            b.0.score
                .total_cmp(&a.0.score)
                .then(b.0.closeness.total_cmp(&a.0.closeness))
                .then(a.1.cmp(&b.1))
                .then(a.0.key.cmp(&b.0.key))
        };
        if ranked.len() > limit {
            ranked.select_nth_unstable_by(limit, order);
            ranked.truncate(limit);
        }
        ranked.sort_by(order);
        ranked
            .into_iter()
            .map(|(s, _)| Hit {
                key: s.key,
                score: s.score,
                how: s.how,
            })
            .collect()
    }

    /// By word id, the alphabetical place (from 1) of each word the hits' names use, so that
    /// sorting thousands of tied hits compares integers instead of reading words.
    fn alphabetical_ranks(&self, hits: &[Scored]) -> Vec<u32> {
        let mut places = vec![0u32; self.vocab.words.len()];
        let mut used = Vec::new();
        for word in hits.iter().flat_map(|h| h.name) {
            if let Some(place @ 0) = places.get_mut(word as usize) {
                *place = 1;
                used.push(word);
            }
        }
        used.sort_unstable_by(|&a, &b| self.vocab.text(a).cmp(self.vocab.text(b)));
        for (at, &word) in used.iter().enumerate() {
            if let Some(place) = places.get_mut(word as usize) {
                *place = at as u32 + 1;
            }
        }
        places
    }
}

/// The slots in every one of the sorted `lists`, at most `cap` of them (the first, in slot
/// order). The rarest list is walked; the others are searched forward from where the previous
/// slot was found, so their reads stay close together.
fn intersect(mut lists: Vec<&[u32]>, cap: usize) -> Vec<u32> {
    lists.sort_by_key(|l| l.len());
    let Some((rarest, others)) = lists.split_first() else {
        return Vec::new();
    };
    let mut cursors = vec![0; others.len()];
    let mut found = Vec::new();
    'slots: for &slot in rarest.iter() {
        for (list, at) in others.iter().zip(cursors.iter_mut()) {
            *at = gallop(list, *at, slot);
            if list.get(*at) != Some(&slot) {
                continue 'slots;
            }
        }
        found.push(slot);
        if found.len() >= cap {
            break;
        }
    }
    found
}

/// The first position at or after `from` of a value not below `x` in a sorted list: steps of
/// 1, 2, 4... then a binary search within the last step.
fn gallop(list: &[u32], from: usize, x: u32) -> usize {
    let (mut low, mut high, mut step) = (from, from, 1);
    while high < list.len() && list[high] < x {
        low = high + 1;
        high += step;
        step *= 2;
    }
    let high = high.min(list.len());
    low + list
        .get(low..high)
        .map_or(0, |part| part.partition_point(|&v| v < x))
}

/// One name query: its folded words, their candidate vocabulary words, and the entries
/// scored so far.
struct NameSearch<'a> {
    index: &'a Index,
    words: Vec<QueryWord>,
    /// Per query word, similar vocabulary words, best first.
    candidates: Vec<Vec<(u32, f32)>>,
    /// (entries carrying a candidate, query word) for the query words that have candidates,
    /// rarest first.
    order: Vec<(usize, usize)>,
    sims: Similarities,
    seen: SlotSet,
    hits: Vec<Scored>,
    /// Entries scored so far.
    scored: usize,
    /// Hits where every query word matched.
    complete: usize,
}

impl<'a> NameSearch<'a> {
    fn new(index: &'a Index, query: &str) -> Option<NameSearch<'a>> {
        let words: Vec<QueryWord> = translit::fold_words(query)
            .into_iter()
            .take(MAX_QUERY_WORDS)
            .map(|text| QueryWord {
                chars: text.chars().count(),
                text,
            })
            .collect();
        if words.is_empty() {
            return None;
        }
        let vocabulary = index.vocab.words.len();
        let mut counts = GramCounts::new(vocabulary);
        let candidates: Vec<Vec<(u32, f32)>> = words
            .iter()
            .map(|q| index.vocab.candidates(q, &mut counts))
            .collect();
        let mut sims = Similarities::new(vocabulary, words.len());
        for (q, found) in candidates.iter().enumerate() {
            for &(word, sim) in found {
                sims.set(word, q, sim);
            }
        }
        let carried = |found: &Vec<(u32, f32)>| -> usize {
            found
                .iter()
                .map(|&(w, _)| index.vocab.postings(w).len())
                .sum()
        };
        let mut order: Vec<(usize, usize)> = candidates
            .iter()
            .enumerate()
            .filter(|(_, found)| !found.is_empty())
            .map(|(q, found)| (carried(found), q))
            .collect();
        order.sort_unstable();
        Some(NameSearch {
            index,
            words,
            candidates,
            order,
            sims,
            seen: SlotSet::new(index.records.len()),
            hits: Vec::new(),
            scored: 0,
            complete: 0,
        })
    }

    /// The entries carrying a candidate of query word `q`, best candidate first. Borrows the
    /// index, not the search, so that entries can be scored along the way.
    fn carriers(&self, q: usize) -> impl Iterator<Item = u32> + 'a {
        let index = self.index;
        let words: Vec<u32> = self
            .candidates
            .get(q)
            .map_or_else(Vec::new, |found| found.iter().map(|&(w, _)| w).collect());
        words
            .into_iter()
            .flat_map(move |w| index.vocab.postings(w).iter().copied())
    }

    /// Scores the entries likely to match every query word first, then, while fewer than
    /// `limit` do, some of the others carrying the rarest query words.
    fn run(mut self, limit: usize) -> Vec<Scored> {
        self.score_full_matches();
        let budget = self.scored + PARTIAL_MATCH_CAP;
        for i in 0..self.order.len() {
            if self.complete >= limit || self.scored >= budget {
                break;
            }
            for slot in self.carriers(self.order[i].1).take(SCAN_CAP) {
                if !self.score(slot, budget) {
                    break;
                }
            }
        }
        self.break_ties(limit);
        self.hits
    }

    /// Scores are coarse (one edit costs a word the same whichever letter it changed), so
    /// entries tie: "ivna" is one edit from both "ivan" and "inna". Among the hits that could
    /// make the first `limit`, each gets the Jaro-Winkler closeness of every query word to its
    /// nearest name word (the first name too), which prefers the reading that keeps the
    /// letters in place and the start of the word intact.
    fn break_ties(&mut self, limit: usize) {
        if self.hits.len() < 2 || limit == 0 {
            return;
        }
        let mut scores: Vec<f32> = self.hits.iter().map(|h| h.score).collect();
        let at = limit.min(scores.len()) - 1;
        scores.select_nth_unstable_by(at, |a, b| b.total_cmp(a));
        let cutoff = scores[at];
        let ties = self.hits.iter().filter(|h| h.score >= cutoff).count();
        if ties <= 1 {
            return;
        }
        for hit in self.hits.iter_mut().filter(|h| h.score >= cutoff) {
            hit.closeness = self.index.closeness(hit.key, &self.words);
        }
    }

    /// Scores the carriers of the rarest query word that also carry a candidate of every other
    /// one, checked against a bit set per other word: no record is read for an entry that
    /// cannot match the whole query. A word carried by more than [`SCAN_CAP`] entries would
    /// filter little and is not checked.
    fn score_full_matches(&mut self) {
        let Some(&(_, rarest)) = self.order.first() else {
            return;
        };
        let filters: Vec<SlotSet> = self.order[1..]
            .iter()
            .filter(|&&(carried, _)| carried <= SCAN_CAP)
            .map(|&(_, q)| {
                let mut set = SlotSet::new(self.index.records.len());
                self.carriers(q).for_each(|slot| {
                    set.insert(slot);
                });
                set
            })
            .collect();
        for slot in self.carriers(rarest).take(SCAN_CAP) {
            if filters.iter().all(|f| f.contains(slot)) && !self.score(slot, FULL_MATCH_CAP) {
                break;
            }
        }
    }

    /// Scores an entry once; false when `budget` entries have been scored.
    fn score(&mut self, slot: u32, budget: usize) -> bool {
        if self.scored >= budget {
            return false;
        }
        if self.seen.insert(slot) {
            self.scored += 1;
            if let Some((hit, all_matched)) =
                self.index.score_names(slot, &self.words, &mut self.sims)
            {
                self.complete += usize::from(all_matched);
                self.hits.push(hit);
            }
        }
        true
    }
}

/// The best one-to-one assignment of query words (columns) to name words (rows), each pair
/// worth its similarity: the sum, and how many query words got a name word. Word order plays
/// no part, so "Revenko Aleksei" is "Aleksei Revenko". Exact by dynamic programming over the
/// subsets of query words (at most 2^[`MAX_QUERY_WORDS`]).
fn best_assignment(rows: &[[f32; MAX_QUERY_WORDS]], columns: usize) -> (f32, usize) {
    let columns = columns.min(MAX_QUERY_WORDS);
    let mut best = [f32::NEG_INFINITY; 1 << MAX_QUERY_WORDS];
    best[0] = 0.0;
    let full = 1usize << columns;
    for row in rows {
        // Downwards, so a subset updated by this row is not extended by it again.
        for mask in (0..full).rev() {
            let base = best[mask];
            if base == f32::NEG_INFINITY {
                continue;
            }
            for (q, &sim) in row.iter().enumerate().take(columns) {
                let bit = 1 << q;
                if mask & bit == 0 && sim > 0.0 && base + sim > best[mask | bit] {
                    best[mask | bit] = base + sim;
                }
            }
        }
    }
    (0..full)
        .filter(|&mask| best[mask] > f32::NEG_INFINITY)
        .map(|mask| (best[mask], mask.count_ones() as usize))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .unwrap_or((0.0, 0))
}

/// The digits of a query that is a number fragment, or `None` for a name query.
fn digit_query(query: &str) -> Option<Vec<u8>> {
    let mut digits = Vec::new();
    let mut others = 0;
    for c in query.chars() {
        match c {
            '0'..='9' => digits.push(c as u8),
            '+' | '-' | '(' | ')' | '.' => {}
            c if c.is_whitespace() => {}
            _ => others += 1,
        }
    }
    (digits.len() >= 3 && digits.len() >= 2 * others).then_some(digits)
}

/// How a fragment matches one number: the whole number, its end, or somewhere inside. A longer
/// share of the number scores higher within each kind.
fn number_match(fragment: &[u8], number: &[u8]) -> Option<(f32, MatchKind)> {
    let share = fragment.len() as f32 / number.len().max(1) as f32;
    if fragment == number {
        Some((1.0, MatchKind::Number))
    } else if number.ends_with(fragment) {
        Some((0.8 + 0.15 * share, MatchKind::NumberEnd))
    } else if number.windows(fragment.len()).any(|w| w == fragment) {
        Some((0.5 + 0.25 * share, MatchKind::NumberPart))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: i64, name: &str, numbers: &[&str]) -> Entry {
        Entry::named(Key::Contact(id), name, numbers)
    }

    #[test]
    fn numbers_pack_and_unpack() {
        for text in [
            "+74951234567",
            "101",
            "+1",
            "0049301234567",
            "+4420 7946-0000",
            "9999999999999999",
        ] {
            let packed = Packed::parse(text).unwrap();
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(packed.digits().as_bytes(), digits.as_bytes(), "{text}");
            assert_eq!(packed.plus(), text.starts_with('+'));
        }
        assert_ne!(Packed::parse("+101"), Packed::parse("101"));
        assert_ne!(Packed::parse("0101"), Packed::parse("101"));
        for bad in ["", "+", "12a4", "+7 495 ext 12", "12345678901234567", "++7"] {
            assert_eq!(Packed::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn assignment_is_one_to_one_and_optimal() {
        let mut rows = [[0f32; MAX_QUERY_WORDS]; 2];
        rows[0][0] = 0.9;
        rows[0][1] = 0.85;
        rows[1][0] = 0.85;
        // Greedy would give the first row to the first column and leave the second unmatched.
        let (sum, matched) = best_assignment(&rows, 2);
        assert!((sum - 1.7).abs() < 1e-6);
        assert_eq!(matched, 2);
        assert_eq!(best_assignment(&rows[..0], 2), (0.0, 0));
    }

    #[test]
    fn intersection_gallops_to_the_common_slots() {
        let evens: Vec<u32> = (0..1000).map(|i| i * 2).collect();
        let threes: Vec<u32> = (0..700).map(|i| i * 3).collect();
        let few = [0, 6, 7, 600, 1998, 5000];
        assert_eq!(
            intersect(vec![&evens, &threes, &few], usize::MAX),
            [0, 6, 600, 1998]
        );
        assert_eq!(intersect(vec![&evens, &threes, &few], 2), [0, 6]);
        assert_eq!(intersect(vec![&evens, &[]], usize::MAX), Vec::<u32>::new());
        assert_eq!(intersect(Vec::new(), usize::MAX), Vec::<u32>::new());
        for x in [0, 1, 2, 1997, 1998, 1999, 5000] {
            assert_eq!(
                gallop(&evens, 0, x),
                evens.partition_point(|&v| v < x),
                "{x}"
            );
        }
        assert_eq!(gallop(&evens, 10, 3), 10);
    }

    #[test]
    fn digit_queries_are_told_from_names() {
        assert_eq!(digit_query("+7 (495) 123-45-67").unwrap(), b"74951234567");
        assert_eq!(digit_query("4567").unwrap(), b"4567");
        assert!(digit_query("45").is_none());
        assert!(digit_query("ivan 4567").is_none());
        assert!(digit_query("ivan").is_none());
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
    fn a_shared_number_lists_every_owner_until_the_last_leaves() {
        let mut index = Index::build([
            contact(2, "Anna", &["+74950000000"]),
            contact(1, "Boris", &["+74950000000"]),
        ]);
        assert_eq!(
            index.by_number("+74950000000"),
            [Key::Contact(1), Key::Contact(2)]
        );
        index.remove(Key::Contact(2));
        assert_eq!(index.by_number("+74950000000"), [Key::Contact(1)]);
        index.remove(Key::Contact(1));
        assert!(index.by_number("+74950000000").is_empty());
        index.upsert(contact(3, "Vera", &["+74950000000"]));
        assert_eq!(index.by_number("+74950000000"), [Key::Contact(3)]);
    }

    #[test]
    fn a_record_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Option<Record>>(), 64);
        let long: Vec<u32> = (0..9).collect();
        assert_eq!(Small::<u32, 5>::new(&long).as_slice(), &long[..]);
        assert_eq!(Small::<u32, 5>::new(&long[..5]).as_slice(), &long[..5]);
        assert!(Small::<u32, 5>::new(&[]).as_slice().is_empty());
    }

    #[test]
    fn numbers_ending_with_a_common_fragment_are_found_past_the_scan_cap() {
        // 12,000 numbers with 4567 inside, then three ending with it, indexed last.
        let inside = (0..12_000).map(|i| contact(i, "Inside", &[&format!("+74567{i:05}9")]));
        let ending = (0..3).map(|i| contact(100_000 + i, "Ending", &[&format!("+7999000{i}4567")]));
        let index = Index::build(inside.chain(ending));
        let hits = index.search("4567", 5);
        let keys: Vec<Key> = hits.iter().take(3).map(|h| h.key).collect();
        assert_eq!(
            keys,
            [
                Key::Contact(100_000),
                Key::Contact(100_001),
                Key::Contact(100_002)
            ]
        );
        assert!(hits[..3].iter().all(|h| h.how == MatchKind::NumberEnd));
        assert_eq!(hits[3].how, MatchKind::NumberPart);
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
