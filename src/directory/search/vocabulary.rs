//! The vocabulary: the distinct folded name words, their trigrams, and the entries carrying
//! each; which vocabulary words a query word may mean (itself, words it begins, one or two
//! edits away) and how similar they are.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use super::postings::{insert_sorted, remove_sorted};
use super::record::{self, NAME_BREAK, UNKNOWN_SPELLING};
use super::{Index, MAX_NAMES, MAX_NAME_WORDS};
use crate::directory::translit;

/// Vocabulary words considered per query word, best first.
const WORD_CANDIDATES: usize = 64;
/// Words taken from the sorted vocabulary for a prefix.
const PREFIX_CAP: usize = 64;
/// When a query word is itself in the vocabulary, the other words it brings in must be at
/// least this similar: "jones" should not bring every "john" (two edits) to score.
const NEAR_EXACT: f32 = 0.75;
/// Similarity of a one-letter query word to a name word it begins: an initial.
const INITIAL: f32 = 0.5;

/// One distinct folded word, and the sorted slots of the entries that carry it.
#[derive(Default)]
pub(super) struct Word {
    text: Box<str>,
    chars: u8,
    pub(super) postings: Vec<u32>,
    /// The ways it was written (lowercased) that fold to it, in the order first met: a
    /// record's word says which (see [`record::spelling`](super::record::spelling)).
    spellings: Vec<Box<str>>,
}

/// The distinct name words. Fuzzy matching runs over this, not over the entries.
#[derive(Default)]
pub(super) struct Vocabulary {
    /// By word id; a released id has an empty text until it is reused.
    pub(super) words: Vec<Word>,
    /// Sorted, for exact and prefix lookups.
    pub(super) ids: BTreeMap<Box<str>, u32>,
    /// Trigram (three chars, the word padded at both ends) → ids of the words containing it.
    pub(super) grams: HashMap<u64, Vec<u32>>,
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
    /// The id of the folded word `text`, written `written`, with that spelling (see
    /// [`record::written`]); `None` when the vocabulary is full (16 M distinct words).
    pub(super) fn intern(&mut self, text: &str, written: &str) -> Option<u32> {
        let id = match self.ids.get(text) {
            Some(&id) => id,
            None => self.add(text)?,
        };
        let word = self.words.get_mut(id as usize)?;
        let spelling = match word.spellings.iter().position(|s| &**s == written) {
            Some(at) => at,
            None if word.spellings.len() < usize::from(UNKNOWN_SPELLING) => {
                word.spellings.push(written.into());
                word.spellings.len() - 1
            }
            None => usize::from(UNKNOWN_SPELLING),
        };
        Some(record::written(id, spelling as u8))
    }

    fn add(&mut self, text: &str) -> Option<u32> {
        let word = Word {
            text: text.into(),
            chars: text.chars().count().min(usize::from(u8::MAX)) as u8,
            postings: Vec::new(),
            spellings: Vec::new(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.words[id as usize] = word;
                id
            }
            None if self.words.len() < record::MAX_WORDS => {
                self.words.push(word);
                (self.words.len() - 1) as u32
            }
            None => return None,
        };
        self.ids.insert(text.into(), id);
        for gram in word_grams(text) {
            self.grams.entry(gram).or_default().push(id);
        }
        Some(id)
    }

    /// How the word of a record was written (empty when it had too many spellings to keep).
    pub(super) fn spelling(&self, word: u32) -> &str {
        self.words
            .get(record::word_id(word) as usize)
            .and_then(|w| w.spellings.get(record::spelling(word) as usize))
            .map_or("", |s| s)
    }

    /// Drops `slot` from the word's postings, and the word itself once nobody carries it, so
    /// that edits over months do not grow the vocabulary.
    pub(super) fn unlink(&mut self, id: u32, slot: u32) {
        let id = record::word_id(id);
        let Some(word) = self.words.get_mut(id as usize) else {
            return;
        };
        remove_sorted(&mut word.postings, slot);
        if !word.postings.is_empty() || word.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut word.text);
        word.postings = Vec::new();
        word.spellings = Vec::new();
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

    pub(super) fn text(&self, id: u32) -> &str {
        self.words
            .get(record::word_id(id) as usize)
            .map_or("", |w| &w.text)
    }

    pub(super) fn postings(&self, id: u32) -> &[u32] {
        self.words
            .get(record::word_id(id) as usize)
            .map_or(&[], |w| &w.postings)
    }

    /// The vocabulary words similar to the query word `q`, best first: itself, the words it
    /// begins (partial words, initials), and the words within one or two edits of it.
    pub(super) fn candidates(&self, q: &QueryWord, counts: &mut GramCounts) -> Vec<(u32, f32)> {
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

    pub(super) fn similarity(&self, q: &QueryWord, id: u32) -> f32 {
        match self.words.get(record::word_id(id) as usize) {
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
///   a swap of two neighbours alone 1 − 1/(n+2), as a letter left out;
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
    // Two neighbours swapped keep every letter: as likely a slip as one left out, which
    // (measured against the longer word) costs a little less than a letter changed.
    if distance == 1 && q.chars == word_chars && strsim::levenshtein(&q.text, word) == 2 {
        return 1.0 - 1.0 / (longer + 2) as f32;
    }
    1.0 - distance as f32 / (longer + 1) as f32
}

/// Per-search scratch for counting shared trigrams per vocabulary word.
pub(super) struct GramCounts {
    counts: Vec<u8>,
    touched: Vec<u32>,
}

impl GramCounts {
    pub(super) fn new(words: usize) -> GramCounts {
        GramCounts {
            counts: vec![0; words],
            touched: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, id: u32) {
        if let Some(count) = self.counts.get_mut(id as usize) {
            if *count == 0 {
                self.touched.push(id);
            }
            *count = count.saturating_add(1);
        }
    }

    /// The words counted at least `needed` times; resets the counts.
    pub(super) fn drain(&mut self, needed: usize) -> Vec<u32> {
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
pub(super) struct QueryWord {
    pub(super) text: String,
    pub(super) chars: usize,
    /// As typed, lowercased (see [`translit::written_words`]).
    pub(super) written: String,
}

/// Similarities of each query word to the vocabulary words, filled as entries are scored, so
/// each pair is compared once per query whatever the number of entries carrying the word.
pub(super) struct Similarities {
    /// `words × query words`, 0 = not computed yet, else similarity + 1.
    known: Vec<f32>,
    width: usize,
}

impl Similarities {
    pub(super) fn new(words: usize, width: usize) -> Similarities {
        Similarities {
            known: vec![0.0; words * width],
            width,
        }
    }

    pub(super) fn set(&mut self, word: u32, q: usize, sim: f32) {
        let word = record::word_id(word);
        if let Some(cell) = self.known.get_mut(word as usize * self.width + q) {
            *cell = sim + 1.0;
        }
    }

    pub(super) fn get(
        &mut self,
        vocab: &Vocabulary,
        words: &[QueryWord],
        word: u32,
        q: usize,
    ) -> f32 {
        let word = record::word_id(word);
        let Some(cell) = self.known.get_mut(word as usize * self.width + q) else {
            return 0.0;
        };
        if *cell == 0.0 {
            *cell = words.get(q).map_or(0.0, |qw| vocab.similarity(qw, word)) + 1.0;
        }
        *cell - 1.0
    }
}

impl Index {
    /// Interns the words of each name and posts `slot` under them.
    pub(super) fn link_names(&mut self, names: &[String], slot: u32) -> Vec<u32> {
        let mut ids = Vec::new();
        for name in names.iter().take(MAX_NAMES) {
            let start = ids.len();
            if start > 0 {
                ids.push(NAME_BREAK);
            }
            for written in translit::written_words(name).iter().take(MAX_NAME_WORDS) {
                let folded = translit::fold_written(written);
                if let Some(id) = self.link_word(&folded, written, slot) {
                    ids.push(id);
                }
            }
            if ids.len() == start + usize::from(start > 0) {
                ids.truncate(start);
            }
        }
        ids
    }

    /// Interns a name word and posts `slot` under it: its id with its spelling.
    pub(super) fn link_word(&mut self, folded: &str, written: &str, slot: u32) -> Option<u32> {
        let id = self.vocab.intern(folded, written)?;
        let word = self.vocab.words.get_mut(record::word_id(id) as usize)?;
        insert_sorted(&mut word.postings, slot);
        Some(id)
    }
}
