//! What the index keeps of one entry: its key, its name words and its numbers in one cache
//! line, small lists inline.

use super::digits::Packed;
use super::Key;

/// Separates an entry's names in [`Record::words`].
pub(super) const NAME_BREAK: u32 = u32::MAX;

/// A record's word is the vocabulary id of its folded form in the low 24 bits and which of
/// that word's spellings the name has in the high 8 (see [`written`]): the id alone is what
/// is searched, the spelling breaks ties. Ids stay below [`MAX_WORDS`], so no word is
/// [`NAME_BREAK`].
const ID_BITS: u32 = 24;
pub(super) const MAX_WORDS: usize = (1 << ID_BITS) - 1;
/// The spelling of a word that was written more ways than a record can tell apart.
pub(super) const UNKNOWN_SPELLING: u8 = u8::MAX;

/// A record's word: the word `id` with its `spelling`.
pub(super) fn written(id: u32, spelling: u8) -> u32 {
    (u32::from(spelling) << ID_BITS) | (id & MAX_WORDS as u32)
}

/// The vocabulary id of a record's word.
pub(super) fn word_id(word: u32) -> u32 {
    word & MAX_WORDS as u32
}

/// Which of its word's spellings a record's word has.
pub(super) fn spelling(word: u32) -> u8 {
    (word >> ID_BITS) as u8
}

/// Up to `N` values in place, more on the heap. Most entries have two or three name words and
/// one or two numbers: kept in the record, they cost no allocation, and scoring or checking an
/// entry reads its record and nothing else (a pointer to follow was most of a search's time).
pub(super) enum Small<T, const N: usize> {
    Inline { len: u8, values: [T; N] },
    Heap(Box<[T]>),
}

impl<T: Copy + Default, const N: usize> Small<T, N> {
    pub(super) fn new(values: &[T]) -> Small<T, N> {
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

    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            Small::Inline { len, values } => values.get(..usize::from(*len)).unwrap_or_default(),
            Small::Heap(values) => values,
        }
    }
}

/// What the index keeps of an entry: one cache line.
#[repr(align(64))]
pub(super) struct Record {
    pub(super) key: Key,
    /// Word ids of each name, names separated by [`NAME_BREAK`].
    pub(super) words: Small<u32, 5>,
    pub(super) numbers: Small<Packed, 2>,
}

impl Record {
    /// The vocabulary ids of the first three words of the first name, [`NAME_BREAK`] where
    /// there are fewer: what ties are broken by.
    pub(super) fn sort_name(&self) -> [u32; 3] {
        let mut name = [NAME_BREAK; 3];
        let first = self.names().next().unwrap_or_default();
        for (place, &word) in name.iter_mut().zip(first) {
            *place = word_id(word);
        }
        name
    }

    pub(super) fn names(&self) -> impl Iterator<Item = &[u32]> {
        self.words
            .as_slice()
            .split(|&w| w == NAME_BREAK)
            .filter(|name| !name.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Option<Record>>(), 64);
        let long: Vec<u32> = (0..9).collect();
        assert_eq!(Small::<u32, 5>::new(&long).as_slice(), &long[..]);
        assert_eq!(Small::<u32, 5>::new(&long[..5]).as_slice(), &long[..5]);
        assert!(Small::<u32, 5>::new(&[]).as_slice().is_empty());
    }
}
