//! Who owns each number, for the numbers only one entry has: the table `by_number` reads on
//! every incoming call. A million contacts carry two million numbers, so the form matters:
//! the numbers present at the last [`Owners::settle`] (the whole book after a load) are two
//! sorted arrays, 12 bytes a number, searched by bisection; numbers added since wait in a
//! small hash map until the next settle. A hash map of everything would take about four
//! times the memory (its buckets, rounded up to a power of two, hold key and owner).

use std::collections::HashMap;

use super::digits::Packed;

/// In [`Owners::settled_owner`]: the number has no single owner any more.
const VACANT: u32 = u32::MAX;

/// Number → the slot of its one owner.
#[derive(Default)]
pub(super) struct Owners {
    /// Sorted; never holds a number twice.
    settled: Vec<Packed>,
    /// By position in `settled`: the owner's slot, or [`VACANT`].
    settled_owner: Vec<u32>,
    /// Numbers not in `settled`, with their owner.
    recent: HashMap<Packed, u32>,
    /// Numbers with an owner, settled or recent.
    len: usize,
}

impl Owners {
    fn position(&self, number: Packed) -> Option<usize> {
        self.settled.binary_search(&number).ok()
    }

    pub(super) fn get(&self, number: Packed) -> Option<u32> {
        match self.position(number) {
            Some(at) => self.settled_owner.get(at).copied().filter(|&s| s != VACANT),
            None => self.recent.get(&number).copied(),
        }
    }

    /// Makes `slot` the number's one owner.
    pub(super) fn set(&mut self, number: Packed, slot: u32) {
        let had = match self.position(number) {
            Some(at) => match self.settled_owner.get_mut(at) {
                Some(owner) => std::mem::replace(owner, slot) != VACANT,
                None => true,
            },
            None => self.recent.insert(number, slot).is_some(),
        };
        self.len += usize::from(!had);
    }

    /// The number has no single owner any more.
    pub(super) fn clear(&mut self, number: Packed) {
        let had = match self.position(number) {
            Some(at) => match self.settled_owner.get_mut(at) {
                Some(owner) => std::mem::replace(owner, VACANT) != VACANT,
                None => false,
            },
            None => self.recent.remove(&number).is_some(),
        };
        self.len -= usize::from(had);
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Moves the recent numbers into the sorted arrays and drops the vacant ones: after a bulk
    /// load, and whenever the recent ones outgrow the settled ones (so each number is moved
    /// a bounded number of times however the book grows).
    pub(super) fn settle(&mut self) {
        self.absorb(Vec::new());
    }

    /// Settles, adding `more` numbers with their owner (numbers that have no owner here: a
    /// bulk load's, collected and given at once).
    pub(super) fn absorb(&mut self, more: Vec<(Packed, u32)>) {
        let mut pairs: Vec<(Packed, u32)> = self
            .settled
            .iter()
            .copied()
            .zip(self.settled_owner.iter().copied())
            .filter(|&(_, owner)| owner != VACANT)
            .chain(self.recent.drain())
            .chain(more)
            .collect();
        pairs.sort_unstable_by_key(|&(number, _)| number);
        self.settled = pairs.iter().map(|&(number, _)| number).collect();
        self.settled_owner = pairs.iter().map(|&(_, owner)| owner).collect();
        self.recent = HashMap::new();
        self.len = self.settled.len();
    }

    /// True when enough numbers were added since the last settle to make one worth it.
    pub(super) fn unsettled(&self) -> bool {
        self.recent.len() > self.settled.len().max(4_096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Packed {
        Packed::parse(text).unwrap()
    }

    #[test]
    fn owners_read_the_same_before_and_after_settling() {
        let mut owners = Owners::default();
        owners.set(n("+74950000001"), 1);
        owners.set(n("+74950000002"), 2);
        owners.set(n("+74950000003"), 3);
        owners.settle();
        owners.clear(n("+74950000002"));
        owners.set(n("+74950000004"), 4);
        owners.set(n("+74950000001"), 5);
        for _ in 0..2 {
            assert_eq!(owners.get(n("+74950000001")), Some(5));
            assert_eq!(owners.get(n("+74950000002")), None);
            assert_eq!(owners.get(n("+74950000003")), Some(3));
            assert_eq!(owners.get(n("+74950000004")), Some(4));
            assert_eq!(owners.get(n("+74950000005")), None);
            assert_eq!(owners.len(), 3);
            owners.settle();
        }
        owners.clear(n("+74950000004"));
        owners.clear(n("+74950000004"));
        assert_eq!(owners.len(), 2);
    }
}
