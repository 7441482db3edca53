//! Sorted lists of slots (the entries carrying a word or a run of digits) and sets of slots:
//! kept sorted on insert and remove, intersected rarest first by galloping.

/// Adds `id` to a sorted posting list. Bulk builds append, so that case comes first.
pub(super) fn insert_sorted(list: &mut Vec<u32>, id: u32) {
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

pub(super) fn remove_sorted(list: &mut Vec<u32>, id: u32) {
    if let Ok(at) = list.binary_search(&id) {
        list.remove(at);
    }
}

/// A set of slots, one bit each.
pub(super) struct SlotSet(Vec<u64>);

impl SlotSet {
    pub(super) fn new(slots: usize) -> SlotSet {
        SlotSet(vec![0; slots.div_ceil(64)])
    }

    /// True if `slot` was not in the set.
    pub(super) fn insert(&mut self, slot: u32) -> bool {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        match self.0.get_mut(word) {
            Some(bits) if *bits & bit == 0 => {
                *bits |= bit;
                true
            }
            _ => false,
        }
    }

    pub(super) fn contains(&self, slot: u32) -> bool {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        self.0.get(word).is_some_and(|bits| bits & bit != 0)
    }
}

/// The slots in every one of the sorted `lists`, at most `cap` of them (the first, in slot
/// order). The rarest list is walked; the others are searched forward from where the previous
/// slot was found, so their reads stay close together.
pub(super) fn intersect(mut lists: Vec<&[u32]>, cap: usize) -> Vec<u32> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
