//! Key → slot: where each entry's record is. The table holds only the slot (4 bytes a
//! bucket); the key it stands for is read from the record, so a million entries take about
//! 10 MB here instead of the 50 MB of a map holding each key beside its slot.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::record::Record;
use super::Key;

#[derive(Default)]
pub(super) struct Slots {
    table: HashTable<u32>,
    state: RandomState,
}

fn key_at(records: &[Option<Record>], slot: u32) -> Option<Key> {
    records.get(slot as usize)?.as_ref().map(|r| r.key)
}

/// The hash a filed slot was filed under: its key's (a filed slot always has a record).
fn rehash(state: &RandomState, records: &[Option<Record>], slot: u32) -> u64 {
    key_at(records, slot).map_or(0, |key| state.hash_one(key))
}

impl Slots {
    pub(super) fn get(&self, records: &[Option<Record>], key: Key) -> Option<u32> {
        let hash = self.state.hash_one(key);
        self.table
            .find(hash, |&slot| key_at(records, slot) == Some(key))
            .copied()
    }

    /// Files `slot`, whose record (already in `records`) has `key`; the key must not be filed.
    pub(super) fn insert(&mut self, records: &[Option<Record>], key: Key, slot: u32) {
        let state = &self.state;
        self.table
            .insert_unique(state.hash_one(key), slot, |&other| {
                rehash(state, records, other)
            });
    }

    /// Forgets `key` (its record still in `records`), returning its slot.
    pub(super) fn remove(&mut self, records: &[Option<Record>], key: Key) -> Option<u32> {
        let hash = self.state.hash_one(key);
        let entry = self
            .table
            .find_entry(hash, |&slot| key_at(records, slot) == Some(key))
            .ok()?;
        Some(entry.remove().0)
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    pub(super) fn reserve(&mut self, records: &[Option<Record>], more: usize) {
        let state = &self.state;
        self.table
            .reserve(more, |&slot| rehash(state, records, slot));
    }

    pub(super) fn shrink(&mut self, records: &[Option<Record>]) {
        let state = &self.state;
        self.table
            .shrink_to_fit(|&slot| rehash(state, records, slot));
    }
}
