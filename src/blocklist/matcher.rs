//! The in-memory blocklist the switchboard consults: exact numbers by hash, prefixes longest
//! first, name patterns last. Read-mostly; edits swap the whole set.

use std::collections::HashMap;
use std::sync::RwLock;

use super::entry::{Direction, Entry, Match};
use crate::clock::Millis;

#[derive(Default)]
struct Compiled {
    numbers: HashMap<String, Vec<Entry>>,
    /// Longest prefix first, so the most specific entry wins.
    prefixes: Vec<Entry>,
    names: Vec<Entry>,
}

/// The active entries; cheap to ask, safe to share.
#[derive(Default)]
pub struct Blocklist {
    compiled: RwLock<Compiled>,
}

impl Blocklist {
    pub fn new(entries: Vec<Entry>) -> Blocklist {
        let blocklist = Blocklist::default();
        blocklist.replace(entries);
        blocklist
    }

    /// Installs a new set of entries (after any edit: the list is small).
    pub fn replace(&self, entries: Vec<Entry>) {
        let mut compiled = Compiled::default();
        for entry in entries {
            match &entry.matches {
                Match::Number(n) => compiled.numbers.entry(n.clone()).or_default().push(entry),
                Match::Prefix(_) => compiled.prefixes.push(entry),
                Match::Name(_) => compiled.names.push(entry),
            }
        }
        compiled.prefixes.sort_by_key(|e| match &e.matches {
            Match::Prefix(p) => std::cmp::Reverse(p.len()),
            _ => std::cmp::Reverse(0),
        });
        *self.compiled.write().unwrap_or_else(|e| e.into_inner()) = compiled;
    }

    /// The entry that blocks a call going `way` from or to `number` (E.164 when it could be
    /// normalized, else as received) with caller-ID `name`, if any is active at `now`.
    pub fn check(&self, way: Direction, number: &str, name: &str, now: Millis) -> Option<Entry> {
        let compiled = self.compiled.read().unwrap_or_else(|e| e.into_inner());
        let applies = |e: &&Entry| e.direction.covers(way) && e.is_active(now);
        if let Some(entry) = compiled
            .numbers
            .get(number)
            .and_then(|entries| entries.iter().find(applies))
        {
            return Some(entry.clone());
        }
        if let Some(entry) = compiled
            .prefixes
            .iter()
            .filter(applies)
            .find(|e| matches!(&e.matches, Match::Prefix(p) if number.starts_with(p.as_str())))
        {
            return Some(entry.clone());
        }
        if name.is_empty() {
            return None;
        }
        compiled
            .names
            .iter()
            .filter(applies)
            .find(|e| matches!(&e.matches, Match::Name(p) if glob_matches(p, name)))
            .cloned()
    }
}

/// Case-insensitive wildcard match: `*` any run of characters, `?` one character.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocklist::Treatment;

    fn entry(id: i64, matches: Match, direction: Direction) -> Entry {
        Entry {
            id,
            matches,
            direction,
            treatment: Treatment::Busy,
            expires_at: None,
            reason: String::new(),
            added_by: String::new(),
            hits: 0,
            last_hit_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn the_most_specific_entry_wins_and_direction_counts() {
        let list = Blocklist::new(vec![
            entry(1, Match::Prefix("+7".into()), Direction::Outbound),
            entry(2, Match::Prefix("+7809".into()), Direction::Both),
            entry(3, Match::Number("+78091234567".into()), Direction::Inbound),
            entry(4, Match::Name("*casino*".into()), Direction::Inbound),
        ]);
        let id = |way, number, name| list.check(way, number, name, 0).map(|e| e.id);
        assert_eq!(id(Direction::Inbound, "+78091234567", ""), Some(3));
        assert_eq!(id(Direction::Outbound, "+78091234567", ""), Some(2));
        assert_eq!(id(Direction::Outbound, "+74951234567", ""), Some(1));
        assert_eq!(id(Direction::Inbound, "+74951234567", ""), None);
        assert_eq!(
            id(Direction::Inbound, "+15550001", "Royal CASINO ltd"),
            Some(4)
        );
        assert_eq!(
            id(Direction::Outbound, "+15550001", "Royal CASINO ltd"),
            None
        );
    }

    #[test]
    fn expired_entries_no_longer_apply() {
        let mut e = entry(1, Match::Number("+15550001".into()), Direction::Both);
        e.expires_at = Some(1_000);
        let list = Blocklist::new(vec![e]);
        assert!(list
            .check(Direction::Inbound, "+15550001", "", 999)
            .is_some());
        assert!(list
            .check(Direction::Inbound, "+15550001", "", 1_000)
            .is_none());
    }

    #[test]
    fn globs() {
        assert!(glob_matches("*casino*", "Best Casino"));
        assert!(glob_matches("spam?bot", "SPAM-bot"));
        assert!(!glob_matches("spam?bot", "spambot"));
        assert!(glob_matches("Иван*", "иван петров"));
        assert!(!glob_matches("a*b", "acccc"));
        assert!(glob_matches(&"*a".repeat(50), &"a".repeat(200)));
    }
}
