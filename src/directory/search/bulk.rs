//! Appending many entries at once (the whole book at start-up): what [`Index::upsert`] does for
//! one entry, with the work that is cheaper done once for all of them done at the end.
//!
//! - A name's words are folded once per distinct token: a million names are made of a few
//!   thousand first names, patronymics and surnames, each folded and looked up in the
//!   vocabulary the first time it is met.
//! - Numbers' owners are collected as (number, slot) pairs, sorted once and laid into the
//!   sorted owner arrays, instead of a hash map grown and re-sorted as the book grows.
//! - The digit-run lists are filled at the end, counted first so that each list is allocated
//!   once at its final size (no doubling, no spare capacity to give back).
//!
//! The index reads the same as one filled by [`Index::upsert`]: every test of the index runs
//! over [`Index::build`], which goes through here.

use std::collections::HashMap;

use super::digits::Packed;
use super::postings::insert_sorted;
use super::record::{word_id, Record, Small, NAME_BREAK};
use super::{Entry, Index, MAX_NAMES, MAX_NAME_WORDS};
use crate::directory::translit;

/// An index being filled in bulk; [`Bulk::finish`] gives it back complete.
pub struct Bulk {
    index: Index,
    /// The numbers of the entries added since the last settle, each with its entry's slot.
    numbers: Vec<(Packed, u32)>,
    /// The slots added since the last settle.
    added: Vec<u32>,
    /// The vocabulary ids of the words of each whitespace-separated token of a name met so
    /// far (a token may fold to several words: "Jean-Paul").
    tokens: HashMap<Box<str>, Box<[u32]>>,
}

impl Index {
    /// Starts appending to this index, expecting about `expected` more entries.
    pub fn bulk(mut self, expected: usize) -> Bulk {
        self.records.reserve(expected);
        self.slots.reserve(&self.records, expected);
        Bulk {
            index: self,
            numbers: Vec::new(),
            added: Vec::new(),
            tokens: HashMap::new(),
        }
    }
}

impl Bulk {
    /// As [`Index::upsert`]: the entry's place, `None` only when the index is full. A key
    /// already indexed is replaced (the bulk work so far is settled first).
    pub fn add(&mut self, entry: Entry) -> Option<u32> {
        if self.index.place(entry.key).is_some() {
            self.settle();
            // Replacing may release words, and their ids be given to others.
            self.tokens.clear();
            return self.index.upsert(entry);
        }
        let slot = self.index.allocate()?;
        let key = entry.key;
        let words = self.link_names(&entry.names, slot);
        let mut numbers: Vec<Packed> = entry
            .numbers
            .iter()
            .filter_map(|n| Packed::parse(n))
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        self.numbers
            .extend(numbers.iter().map(|&number| (number, slot)));
        self.index.link_ranges(key, &entry.ranges);
        if let Some(place) = self.index.records.get_mut(slot as usize) {
            *place = Some(Record {
                key,
                words: Small::new(&words),
                numbers: Small::new(&numbers),
            });
        }
        self.index.slots.insert(&self.index.records, key, slot);
        self.added.push(slot);
        Some(slot)
    }

    /// The index, complete and packed.
    pub fn finish(mut self) -> Index {
        self.settle();
        self.index.compact();
        self.index
    }

    /// As [`Index::link_names`], folding each distinct token once.
    fn link_names(&mut self, names: &[String], slot: u32) -> Vec<u32> {
        let mut ids = Vec::new();
        for name in names.iter().take(MAX_NAMES) {
            let start = ids.len();
            if start > 0 {
                ids.push(NAME_BREAK);
            }
            let mut count = 0;
            for token in name.split_whitespace() {
                if count == MAX_NAME_WORDS {
                    break;
                }
                let words = match self.tokens.get(token) {
                    Some(words) => words,
                    None => {
                        let words: Box<[u32]> = translit::written_words(token)
                            .iter()
                            .filter_map(|written| {
                                let folded = translit::fold_written(written);
                                self.index.vocab.intern(&folded, written)
                            })
                            .collect();
                        self.tokens.entry(token.into()).or_insert(words)
                    }
                };
                for &id in words.iter().take(MAX_NAME_WORDS - count) {
                    if let Some(word) = self.index.vocab.words.get_mut(word_id(id) as usize) {
                        insert_sorted(&mut word.postings, slot);
                    }
                    ids.push(id);
                    count += 1;
                }
            }
            if count == 0 {
                ids.truncate(start);
            }
        }
        ids
    }

    /// Files the owners and the digit runs of the numbers added so far.
    fn settle(&mut self) {
        let mut pairs = std::mem::take(&mut self.numbers);
        pairs.sort_unstable();
        // A number no one had and only one new entry has (nearly all of them) goes straight
        // into the sorted arrays; the others the way `upsert` files them.
        let mut alone = Vec::with_capacity(pairs.len());
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            match group {
                [(number, slot)]
                    if self.index.numbers.get(*number).is_none()
                        && !self.index.shared.contains_key(number) =>
                {
                    alone.push((*number, *slot));
                }
                _ => {
                    for &(number, slot) in group {
                        if let Some(key) = self.index.record(slot).map(|r| r.key) {
                            self.index.add_owner(number, key, slot);
                        }
                    }
                }
            }
        }
        drop(pairs);
        self.index.numbers.absorb(alone);
        self.file_digit_runs();
    }

    /// Posts the added slots under their numbers' digit runs, each list grown once.
    fn file_digit_runs(&mut self) {
        let added = std::mem::take(&mut self.added);
        let lists = self.index.digit_postings.len();
        let mut counts = vec![0usize; lists];
        let mut grams = Vec::new();
        for &slot in &added {
            if let Some(record) = self.index.record(slot) {
                Index::grams_into(record.numbers.as_slice(), &mut grams);
                for &gram in &grams {
                    if let Some(count) = counts.get_mut(gram) {
                        *count += 1;
                    }
                }
            }
        }
        for (list, &more) in self.index.digit_postings.iter_mut().zip(&counts) {
            list.reserve_exact(more);
        }
        drop(counts);
        for &slot in &added {
            let Some(record) = self.index.record(slot) else {
                continue;
            };
            Index::grams_into(record.numbers.as_slice(), &mut grams);
            for &gram in &grams {
                if let Some(list) = self.index.digit_postings.get_mut(gram) {
                    insert_sorted(list, slot);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::search::tests::contact;
    use crate::directory::search::Key;

    /// Everything a search or lookup can observe, for comparing two indexes.
    fn observed(index: &Index) -> Vec<String> {
        let mut seen = vec![format!("{:?}", index.stats())];
        for query in [
            "ivan petrov",
            "jean",
            "paul",
            "jean-paul",
            "smith",
            "4567",
            "1234",
            "+74951234567",
            "anna",
            "o brien",
        ] {
            seen.push(format!("{query}: {:?}", index.search(query, 20)));
        }
        for number in [
            "+74951234567",
            "+79161112233",
            "+12125554567",
            "+74950000000",
        ] {
            seen.push(format!("{number}: {:?}", index.by_number(number)));
        }
        seen
    }

    #[test]
    fn a_bulk_load_reads_the_same_as_entries_upserted_one_by_one() {
        let entries = vec![
            contact(1, "Иван Петров", &["+74951234567", "+79161112233"]),
            contact(2, "Jean-Paul  Smith", &["+12125554567"]),
            contact(3, "Anna Anna O'Brien", &["+74950000000", "+74950000000"]),
            // Shares a number with 3, then with 1.
            contact(4, "Paul Smith", &["+74950000000"]),
            contact(5, "  ", &["+74951234567"]),
            // Given twice: the second wins.
            contact(2, "Jean Smith", &["+12125554567", "+74954567000"]),
            contact(6, &"w ".repeat(40), &["+19995551234"]),
            Entry {
                names: vec!["Ivan Petrov".into(), String::new(), "Ваня".into()],
                ..contact(7, "", &["+74951231234"])
            },
        ];
        let mut one_by_one = Index::new();
        for entry in entries.clone() {
            one_by_one.upsert(entry);
        }
        one_by_one.compact();
        let bulk = Index::build(entries);
        assert_eq!(observed(&bulk), observed(&one_by_one));
        assert_eq!(
            bulk.by_number("+74950000000"),
            [Key::Contact(3), Key::Contact(4)]
        );
        assert_eq!(
            bulk.by_number("+74951234567"),
            [Key::Contact(1), Key::Contact(5)]
        );
    }

    #[test]
    fn a_bulk_load_appends_to_what_the_index_held() {
        let mut held = Index::new();
        held.upsert(contact(1, "Иван Петров", &["+74951234567"]));
        let mut bulk = held.bulk(2);
        bulk.add(contact(2, "Ivan Petrov", &["+74951234567", "+79160000000"]));
        bulk.add(contact(3, "Anna Smith", &["+79160000001"]));
        let index = bulk.finish();
        assert_eq!(
            index.by_number("+74951234567"),
            [Key::Contact(1), Key::Contact(2)]
        );
        assert_eq!(index.by_number("+79160000001"), [Key::Contact(3)]);
        assert_eq!(index.search("0000001", 5)[0].key, Key::Contact(3));
        assert_eq!(index.stats().entries, 3);
    }
}
