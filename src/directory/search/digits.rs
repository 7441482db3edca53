//! Numbers: the packed form the index keeps (one `u64` a number), the lists of digit runs
//! that find a typed fragment inside the book's numbers, each number's owners, the
//! organizations' DID blocks, and how well a fragment matches a number.

use super::postings::intersect;
use super::rank::Scored;
use super::{Index, Key, MatchKind, DIGIT_SCAN_CAP};

/// Longest number kept, in digits (E.164 allows 15).
const MAX_DIGITS: usize = 16;

/// A number as the index keeps it: the '+' flag, the count of digits and their value in one
/// `u64`, so the per-call lookup hashes 8 bytes and each number costs 8 bytes per entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Packed(u64);

/// The digits of a [`Packed`] number, as ASCII.
pub(super) struct Digits {
    buf: [u8; MAX_DIGITS],
    pub(super) len: usize,
}

impl Digits {
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Packed {
    const VALUE_BITS: u32 = 54;
    const LEN_SHIFT: u32 = 58;
    const PLUS: u64 = 1 << 63;

    /// An optional '+' and 1..=16 digits, with spaces, dashes, dots and parentheses ignored.
    pub(super) fn parse(text: &str) -> Option<Packed> {
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
    pub(super) fn from_digits(plus: bool, digits: &[u8]) -> Option<Packed> {
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

    pub(super) fn plus(self) -> bool {
        self.0 & Packed::PLUS != 0
    }

    /// The number as filed: `+74951234567`, or an extension's digits.
    pub(super) fn text(self) -> String {
        let digits = self.digits();
        let plus = if self.plus() { "+" } else { "" };
        format!("{plus}{}", String::from_utf8_lossy(digits.as_bytes()))
    }

    pub(super) fn digits(self) -> Digits {
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
pub(super) fn digit_grams(digits: &[u8], n: usize) -> impl Iterator<Item = usize> + '_ {
    digits.windows(n).map(|w| {
        w.iter().fold(0usize, |code, d| {
            code * 10 + usize::from(d.wrapping_sub(b'0') % 10)
        })
    })
}

/// Offset of the end-of-number lists in [`Index::digit_postings`].
pub(super) const END: usize = 10_000;

impl Index {
    pub(super) fn link_ranges(&mut self, key: Key, ranges: &[String]) {
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
    pub(super) fn grams_of(numbers: &[Packed]) -> Vec<usize> {
        let mut grams = Vec::new();
        Index::grams_into(numbers, &mut grams);
        grams
    }

    /// As [`Index::grams_of`], into `grams` (cleared first).
    pub(super) fn grams_into(numbers: &[Packed], grams: &mut Vec<usize>) {
        grams.clear();
        for number in numbers {
            let digits = number.digits();
            grams.extend(digit_grams(digits.as_bytes(), 4));
            grams.extend(digit_grams(digits.as_bytes(), 3).last().map(|g| END + g));
        }
        grams.sort_unstable();
        grams.dedup();
    }

    /// `key`, at `slot`, has `number`.
    pub(super) fn add_owner(&mut self, number: Packed, key: Key, slot: u32) {
        if let Some(owners) = self.shared.get_mut(&number) {
            if let Err(at) = owners.binary_search(&key) {
                owners.insert(at, key);
            }
            return;
        }
        match self.numbers.get(number) {
            None => self.numbers.set(number, slot),
            Some(other) if other != slot => {
                let Some(other) = self.record(other).map(|r| r.key) else {
                    self.numbers.set(number, slot);
                    return;
                };
                self.numbers.clear(number);
                self.shared
                    .insert(number, vec![other.min(key), other.max(key)]);
            }
            Some(_) => {}
        }
    }

    /// `key`, at `slot`, no longer has `number`.
    pub(super) fn remove_owner(&mut self, number: Packed, key: Key, slot: u32) {
        if self.numbers.get(number) == Some(slot) {
            self.numbers.clear(number);
            return;
        }
        let Some(owners) = self.shared.get_mut(&number) else {
            return;
        };
        owners.retain(|&k| k != key);
        if let [last] = owners[..] {
            self.shared.remove(&number);
            if let Some(at) = self.place(last) {
                self.numbers.set(number, at);
            }
        }
    }

    /// The entries whose numbers contain `digits`: all of those with a number ending with them
    /// (few, found through the last-three-digits lists), then the first [`DIGIT_SCAN_CAP`] of
    /// the others. Each is checked against its numbers: runs of digits in common do not make
    /// a fragment.
    pub(super) fn search_digits(&self, digits: &[u8]) -> Vec<Scored> {
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
            spelling: 0.0,
            rarity: 0.0,
            name: record.sort_name(),
        })
    }
}

/// The digits of a query that is a number fragment, or `None` for a name query.
pub(super) fn digit_query(query: &str) -> Option<Vec<u8>> {
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
pub(super) fn number_match(fragment: &[u8], number: &[u8]) -> Option<(f32, MatchKind)> {
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
    use crate::directory::search::tests::contact;

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
            let plus = if text.starts_with('+') { "+" } else { "" };
            assert_eq!(packed.text(), format!("{plus}{digits}"));
        }
        assert_ne!(Packed::parse("+101"), Packed::parse("101"));
        assert_ne!(Packed::parse("0101"), Packed::parse("101"));
        for bad in ["", "+", "12a4", "+7 495 ext 12", "12345678901234567", "++7"] {
            assert_eq!(Packed::parse(bad), None, "{bad:?}");
        }
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
}
