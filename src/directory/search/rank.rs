//! Scoring and ranking: a name query's search of the entries (those carrying every query
//! word first, then the rarest), each entry's best name by the best one-to-one assignment of
//! query words to name words, ties broken by closeness, and the final order of the hits.

use super::postings::SlotSet;
use super::vocabulary::{GramCounts, QueryWord, Similarities};
use super::{
    Hit, Index, Key, MatchKind, FULL_MATCH_CAP, MAX_NAME_WORDS, MAX_QUERY_WORDS, PARTIAL_MATCH_CAP,
};
use crate::directory::translit;

/// At most this many entries carrying one query word are walked (not scored: checked against
/// the other words' bit sets), so that a prefix of one letter stays cheap.
const SCAN_CAP: usize = 200_000;
/// Share of an entry's score that does not depend on how many of its name words the query
/// covered: "smith" finds "Smith" and "John Smith", the first a little higher.
const COVER_BASE: f32 = 0.85;

/// An entry before ranking, with what ranking needs so that it reads no record.
#[derive(Clone, Copy)]
pub(super) struct Scored {
    pub(super) key: Key,
    pub(super) score: f32,
    pub(super) how: MatchKind,
    /// Breaks ties between equal scores: how close every query word is to the name's words
    /// letter by letter (see [`NameSearch::break_ties`]); 0 where nothing needed it.
    pub(super) closeness: f32,
    /// Breaks ties left after closeness: how close every query word as typed is to the way
    /// the name writes the word nearest to it (see [`Index::closeness`]); 0 where nothing
    /// needed it.
    pub(super) spelling: f32,
    /// Breaks ties left after the spelling: how rare the name words nearest to the query words
    /// are (minus the sum of the logarithms of how many entries carry each); 0 where nothing
    /// needed it.
    pub(super) rarity: f32,
    /// See [`Record::sort_name`](super::record::Record::sort_name).
    pub(super) name: [u32; 3],
}

impl Index {
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
            let coverage = coverage(&rows[..name.len()], matched);
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
                    spelling: 0.0,
                    rarity: 0.0,
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

    /// The tie-breakers of an entry (see [`NameSearch::break_ties`]), from the best of its
    /// names by closeness: the summed Jaro-Winkler similarity of each query word to its
    /// nearest word of that name (folded), the same of each query word as typed to that word
    /// as the name writes it, and the rarity of those nearest words (see [`Scored::rarity`]).
    fn closeness(&self, key: Key, words: &[QueryWord]) -> Closeness {
        let none = Closeness {
            closeness: 0.0,
            spelling: 0.0,
            rarity: f32::NEG_INFINITY,
        };
        let Some(record) = self.place(key).and_then(|slot| self.record(slot)) else {
            return Closeness {
                rarity: 0.0,
                ..none
            };
        };
        record
            .names()
            .map(|name| {
                let mut found = Closeness {
                    rarity: 0.0,
                    ..none
                };
                for q in words {
                    let mut best = (0.0f32, None);
                    for &w in name {
                        let jw = strsim::jaro_winkler(&q.text, self.vocab.text(w)) as f32;
                        if jw > best.0 {
                            best = (jw, Some(w));
                        }
                    }
                    found.closeness += best.0;
                    if let Some(w) = best.1 {
                        found.spelling +=
                            strsim::jaro_winkler(&q.written, self.vocab.spelling(w)) as f32;
                        found.rarity -= (self.vocab.postings(w).len().max(1) as f32).ln();
                    }
                }
                found
            })
            .fold(none, |a, b| if b.closeness > a.closeness { b } else { a })
    }

    /// Sorts best first and keeps `limit`: score, then closeness, then spelling, then rarity,
    /// then the first
    /// three words of the name in folded alphabetical order, then key.
    pub(super) fn rank(&self, hits: Vec<Scored>, limit: usize) -> Vec<Hit> {
        let alphabetical = self.alphabetical_ranks(&hits);
        let place = |word: u32| alphabetical.get(word as usize).copied().unwrap_or(0);
        let mut ranked: Vec<(Scored, [u32; 3])> =
            hits.into_iter().map(|h| (h, h.name.map(place))).collect();
        let order = |a: &(Scored, [u32; 3]), b: &(Scored, [u32; 3])| {
            b.0.score
                .total_cmp(&a.0.score)
                .then(b.0.closeness.total_cmp(&a.0.closeness))
                .then(b.0.spelling.total_cmp(&a.0.spelling))
                .then(b.0.rarity.total_cmp(&a.0.rarity))
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

/// What breaks ties between entries of equal score, best name first.
#[derive(Clone, Copy)]
struct Closeness {
    closeness: f32,
    spelling: f32,
    rarity: f32,
}

/// One name query: its folded words, their candidate vocabulary words, and the entries
/// scored so far.
pub(super) struct NameSearch<'a> {
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
    pub(super) fn new(index: &'a Index, query: &str) -> Option<NameSearch<'a>> {
        let words: Vec<QueryWord> = translit::written_words(query)
            .into_iter()
            .take(MAX_QUERY_WORDS)
            .map(|written| {
                let text = translit::fold_written(&written);
                QueryWord {
                    chars: text.chars().count(),
                    text,
                    written,
                }
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
    pub(super) fn run(mut self, limit: usize) -> Vec<Scored> {
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
    /// letters in place and the start of the word intact; where that ties (names that fold
    /// alike: "Novak" and "Nowak", "Анна Ким" and "Anna Kim"), the same closeness of every
    /// query word as typed to the name's word as written, so "Novk" means "Novak" and a
    /// Cyrillic query a Cyrillic name; where that ties too ("riov" is as close to "rilov" as
    /// to "rizhov"), the rarer words: in a big book a common name is one of many the agent
    /// would have to tell apart, and a query this close to an unusual one most likely means
    /// it.
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
            let found = self.index.closeness(hit.key, &self.words);
            (hit.closeness, hit.spelling, hit.rarity) =
                (found.closeness, found.spelling, found.rarity);
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

/// Share of a name's words the query covered, from the assignment's `rows` (one per name
/// word) and how many query words it `matched`. A query naming the first and the last word
/// of a longer name covers it: people are found by first and last name, the patronymic or
/// middle name left out ("Аркадий Колесов" is all of "Аркадий Михайлович Колесов"), so that
/// name is not ranked below a two-word one matched as well.
fn coverage(rows: &[[f32; MAX_QUERY_WORDS]], matched: usize) -> f32 {
    let hit =
        |row: Option<&[f32; MAX_QUERY_WORDS]>| row.is_some_and(|r| r.iter().any(|&c| c > 0.0));
    if rows.len() >= 3 && matched >= 2 && hit(rows.first()) && hit(rows.last()) {
        return 1.0;
    }
    matched as f32 / rows.len().max(1) as f32
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
