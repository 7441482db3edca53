//! The phone book's search as an agent and the call router use it: a small book with
//! look-alike names in two scripts, where the order of the results is asserted, and a generated
//! book of 50,000 contacts where recall is measured.

use std::collections::HashSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use switchdesk::directory::sample::{self, SampleContact};
use switchdesk::directory::search::{Entry, Hit, Index, Key, MatchKind};

fn contact(id: i64, name: &str, numbers: &[&str]) -> Entry {
    Entry::named(Key::Contact(id), name, numbers)
}

fn organization(id: i64, name: &str, numbers: &[&str], ranges: &[&str]) -> Entry {
    Entry {
        ranges: ranges.iter().map(|r| r.to_string()).collect(),
        ..Entry::named(Key::Organization(id), name, numbers)
    }
}

const REVENKO_ALEKSEI: Key = Key::Contact(1);
const REVIN_ALEKSEI: Key = Key::Contact(2);
const REVENKO_ALEKSANDR: Key = Key::Contact(3);
const REVENKO_OLGA: Key = Key::Contact(4);
const SMITH_JOHN: Key = Key::Contact(5);
const SMYTH_JON: Key = Key::Contact(6);
const SMITHERS_JOAN: Key = Key::Contact(7);
const PETROV_IVAN: Key = Key::Contact(8);
const SARKISYAN_ARAM: Key = Key::Contact(9);
const ROMASHKA: Key = Key::Organization(100);
const ACME: Key = Key::Organization(101);

fn book() -> Index {
    Index::build([
        contact(1, "Алексей Ревенко", &["+74951234567"]),
        contact(2, "Алексей Ревин", &["+79161112233"]),
        contact(3, "Aleksandr Revenko", &["+442079460123"]),
        contact(4, "Ревенко Ольга", &["+7 812 333-45-67"]),
        contact(5, "John Smith", &["+12125554567"]),
        contact(6, "Jon Smyth", &["+12125550000"]),
        contact(7, "Joan Smithers", &["+14155456789"]),
        contact(8, "Иван Петров", &["+74954560000", "+79035550101"]),
        contact(9, "Арам Саркисян", &["+374951234567"]),
        organization(100, "ООО «Ромашка»", &["+74951230000"], &["+7495123"]),
        organization(
            101,
            "Acme Ltd",
            &["+74951200000"],
            &["+749512", "+44207946"],
        ),
    ])
}

fn keys(hits: &[Hit]) -> Vec<Key> {
    hits.iter().map(|h| h.key).collect()
}

fn rank_of(hits: &[Hit], key: Key) -> Option<usize> {
    hits.iter().position(|h| h.key == key)
}

#[test]
fn a_full_name_in_latin_finds_the_cyrillic_contact_first() {
    let hits = book().search("aleksei revenko", 10);
    assert_eq!(hits[0].key, REVENKO_ALEKSEI, "{hits:?}");
    assert_eq!(hits[0].how, MatchKind::Name);
    assert_eq!(hits[0].score, 1.0);
    // Each of the others shares only one of the two words.
    assert!(hits[1..].iter().all(|h| h.score < 0.6), "{hits:?}");
}

#[test]
fn swapped_first_and_last_names_rank_the_same() {
    let index = book();
    let hits = index.search("revenko aleksei", 10);
    assert_eq!(hits[0].key, REVENKO_ALEKSEI, "{hits:?}");
    assert_eq!(hits, index.search("Aleksei Revenko", 10));
}

#[test]
fn two_typos_still_find_the_contact_in_the_top_two() {
    let hits = book().search("aleksi revneko", 10);
    let rank = rank_of(&hits, REVENKO_ALEKSEI).expect("found");
    assert!(rank < 2, "{hits:?}");
    assert_eq!(hits[0].how, MatchKind::Fuzzy);
}

#[test]
fn a_cyrillic_query_finds_a_latin_spelled_contact_first() {
    let index = Index::build([
        contact(1, "Aleksei Revenko", &[]),
        contact(2, "Алексей Ревин", &[]),
        contact(3, "Aleksandr Revenko", &[]),
        contact(4, "Ревенко Ольга", &[]),
    ]);
    let hits = index.search("алексей ревенко", 10);
    assert_eq!(hits[0].key, Key::Contact(1), "{hits:?}");
    assert_eq!(hits[0].how, MatchKind::Name);
}

#[test]
fn variant_spellings_of_a_russian_name_score_as_the_name_itself() {
    let index = Index::build([
        contact(1, "Алексей Ревенко", &[]),
        contact(2, "Юрий Гагарин", &[]),
        contact(3, "Евгений Онегин", &[]),
        contact(4, "Юлия Евгеньева", &[]),
    ]);
    for (query, want) in [
        ("alexey revenko", 1),
        ("aleksey revenko", 1),
        ("Aleksej Revenko", 1),
        ("yuri gagarin", 2),
        ("iurii gagarin", 2),
        ("Yuriy Gagarin", 2),
        ("evgeny onegin", 3),
        ("yevgeniy onegin", 3),
    ] {
        let hits = index.search(query, 5);
        assert_eq!(hits[0].key, Key::Contact(want), "{query}: {hits:?}");
        assert_eq!(hits[0].score, 1.0, "{query}: {hits:?}");
    }
}

#[test]
fn a_surname_alone_ranks_the_exact_surname_above_a_longer_one() {
    let hits = book().search("smith", 10);
    let smith = rank_of(&hits, SMITH_JOHN).expect("John Smith");
    let smithers = rank_of(&hits, SMITHERS_JOAN).expect("Joan Smithers");
    assert!(smith < smithers, "{hits:?}");
    assert_eq!(hits[0].key, SMITH_JOHN, "{hits:?}");
}

#[test]
fn a_misspelt_first_name_ranks_both_smiths_above_the_others() {
    let hits = book().search("jon smith", 10);
    let mut top: Vec<Key> = keys(&hits[..2]);
    top.sort();
    assert_eq!(top, [SMITH_JOHN, SMYTH_JON], "{hits:?}");
    assert!(rank_of(&hits, SMITHERS_JOAN).is_some_and(|r| r >= 2));
}

#[test]
fn names_that_fold_alike_are_told_apart_by_how_every_word_is_written() {
    // Each pair folds to the same words, so the same typo scores both alike: the one written
    // closer to what was typed comes first, whichever word (first name too) tells them apart
    // and whichever key is lower.
    let index = Index::build([
        contact(1, "Oliver Nowak", &[]),
        contact(2, "Oliver Novak", &[]),
        contact(3, "Anna Kim", &[]),
        contact(4, "Анна Ким", &[]),
        contact(5, "Zoë West", &[]),
        contact(6, "Zoe West", &[]),
    ]);
    for (query, first, second) in [
        ("Oliver Novk", 2, 1),
        ("Oliver Nowk", 1, 2),
        ("Анна Кмм", 4, 3),
        ("Anna Kmm", 3, 4),
        ("Zoe Wst", 6, 5),
        ("Zoë Wst", 5, 6),
    ] {
        let hits = index.search(query, 10);
        assert_eq!(
            keys(&hits[..2]),
            [Key::Contact(first), Key::Contact(second)],
            "{query}: {hits:?}"
        );
        assert_eq!(hits[0].score, hits[1].score, "{query}: a tie on score");
    }
}

#[test]
fn partial_words_find_the_names_they_begin() {
    let hits = book().search("alek rev", 10);
    let top: HashSet<Key> = keys(&hits[..3]).into_iter().collect();
    assert!(
        top.contains(&REVENKO_ALEKSEI) && top.contains(&REVIN_ALEKSEI),
        "{hits:?}"
    );
    assert!(top.contains(&REVENKO_ALEKSANDR), "{hits:?}");
    // Olga Revenko matches one word of two: behind the three that match both.
    assert_eq!(rank_of(&hits, REVENKO_OLGA), Some(3), "{hits:?}");
}

#[test]
fn an_organization_is_found_by_its_name_without_the_legal_form() {
    let hits = book().search("ромашка", 5);
    assert_eq!(keys(&hits), [ROMASHKA]);
    assert_eq!(book().search("acme", 5)[0].key, ACME);
}

#[test]
fn a_digit_fragment_finds_every_number_containing_it_and_nothing_else() {
    let hits = book().search("4567", 20);
    let found: HashSet<Key> = keys(&hits).into_iter().collect();
    let want: HashSet<Key> = [
        REVENKO_ALEKSEI,
        REVENKO_OLGA,
        SMITH_JOHN,
        SMITHERS_JOAN,
        SARKISYAN_ARAM,
    ]
    .into();
    assert_eq!(found, want, "{hits:?}");
    // Numbers ending with the digits come before numbers merely containing them.
    assert_eq!(
        hits.last().map(|h| (h.key, h.how)),
        Some((SMITHERS_JOAN, MatchKind::NumberPart))
    );
    assert!(
        hits[..4].iter().all(|h| h.how == MatchKind::NumberEnd),
        "{hits:?}"
    );
    // Petrov's +74954560000 has 456 but not 4567.
    assert!(!found.contains(&PETROV_IVAN));
    assert_eq!(keys(&book().search("456", 20)).len(), 6);
}

#[test]
fn a_full_number_ranks_its_owner_first_however_it_is_written() {
    let index = book();
    for query in [
        "+74951234567",
        "+7 (495) 123-45-67",
        "74951234567",
        "7 495 123 45 67",
    ] {
        let hits = index.search(query, 10);
        assert_eq!(hits[0].key, REVENKO_ALEKSEI, "{query}: {hits:?}");
        assert_eq!(hits[0].how, MatchKind::Number);
        assert_eq!(hits[0].score, 1.0);
        // The Armenian number ends with the same eleven digits.
        assert_eq!(
            hits.get(1).map(|h| (h.key, h.how)),
            Some((SARKISYAN_ARAM, MatchKind::NumberEnd))
        );
        assert_eq!(hits.len(), 2, "{hits:?}");
    }
}

#[test]
fn by_number_is_an_exact_match_and_lists_every_owner() {
    let mut index = book();
    assert_eq!(index.by_number("+74951234567"), [REVENKO_ALEKSEI]);
    assert_eq!(index.by_number("+7 495 123-45-67"), [REVENKO_ALEKSEI]);
    assert_eq!(index.by_number("+79035550101"), [PETROV_IVAN]);
    assert!(index.by_number("+7495123456").is_empty());
    assert!(
        index.by_number("74951234567").is_empty(),
        "a '+' is part of the number"
    );
    assert!(index.by_number("not a number").is_empty());
    index.upsert(contact(10, "Мария Петрова", &["+79035550101"]));
    assert_eq!(
        index.by_number("+79035550101"),
        [PETROV_IVAN, Key::Contact(10)]
    );
}

#[test]
fn by_range_picks_the_longest_block() {
    let index = book();
    assert_eq!(index.by_range("+74951234567"), Some((ROMASHKA, 7)));
    assert_eq!(index.by_range("+74951299999"), Some((ACME, 6)));
    assert_eq!(index.by_range("+442079461234"), Some((ACME, 8)));
    assert_eq!(index.by_range("+74959999999"), None);
    assert_eq!(index.by_range("+7495123"), Some((ROMASHKA, 7)));
    assert_eq!(index.by_range(""), None);
}

#[test]
fn an_edit_replaces_the_old_name_and_numbers_everywhere() {
    let mut index = book();
    index.upsert(contact(1, "Алексей Ковалёв", &["+79990000001"]));
    // Still an Aleksei, but no longer a Revenko.
    let hits = index.search("aleksei revenko", 10);
    assert!(
        hits.iter()
            .all(|h| h.key != REVENKO_ALEKSEI || h.score < 0.5),
        "{hits:?}"
    );
    assert!(index
        .search("ревенко", 10)
        .iter()
        .all(|h| h.key != REVENKO_ALEKSEI));
    assert_eq!(index.search("kovalev", 10)[0].key, REVENKO_ALEKSEI);
    assert!(index.by_number("+74951234567").is_empty());
    assert_eq!(index.by_number("+79990000001"), [REVENKO_ALEKSEI]);
    assert_eq!(index.stats().entries, 11);
}

#[test]
fn a_removed_contact_is_gone_from_names_numbers_and_fragments() {
    let mut index = book();
    assert!(index.remove(SMITH_JOHN));
    assert!(index.by_number("+12125554567").is_empty());
    assert!(rank_of(&index.search("john smith", 10), SMITH_JOHN).is_none());
    assert!(rank_of(&index.search("4567", 10), SMITH_JOHN).is_none());
    assert!(index.remove(ROMASHKA));
    assert_eq!(index.by_range("+74951234567"), Some((ACME, 6)));
    assert_eq!(index.stats().entries, 9);
}

#[test]
fn odd_queries_return_nothing_rather_than_fail() {
    let index = book();
    for query in [
        "",
        "   ",
        "🙂",
        "--",
        "12",
        "+",
        "ж",
        &"z".repeat(5_000),
        &"9".repeat(40),
    ] {
        let hits = index.search(query, 10);
        assert!(hits.len() <= 10);
    }
    // Mixed scripts in one word are still a word.
    assert!(index
        .search("Ревenko", 10)
        .iter()
        .any(|h| h.key == REVENKO_ALEKSEI));
}

proptest! {
    /// Whatever is typed (any script, symbols, digits, emoji): no panic, at most `limit` hits,
    /// scores in 0..=1, best first.
    #[test]
    fn any_text_is_a_query(
        query in prop_oneof!["\\PC{0,40}", "[0-9 +().a-zа-яё🙂-]{0,30}"],
        limit in 0usize..20,
    ) {
        static BOOK: OnceLock<Index> = OnceLock::new();
        let hits = BOOK.get_or_init(book).search(&query, limit);
        prop_assert!(hits.len() <= limit);
        prop_assert!(hits.iter().all(|h| (0.0..=1.0).contains(&h.score)), "{:?}", hits);
        prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score), "{:?}", hits);
    }
}

/// Names as an agent would type them: "first last".
fn typed_name(contact: &SampleContact) -> String {
    format!("{} {}", contact.first_name, contact.last_name)
}

#[test]
fn a_generated_book_finds_everyone_by_number_and_by_a_misspelt_name() {
    const BOOK: usize = 50_000;
    const QUERIES: usize = 2_000;
    let people: Vec<SampleContact> = sample::contacts(42, BOOK).collect();
    let index = Index::build(people.iter().zip(0..).map(|(c, id)| c.entry(id)));
    assert_eq!(index.stats().entries, BOOK);

    for (contact, id) in people.iter().zip(0..) {
        for number in &contact.numbers {
            assert!(
                index.by_number(number).contains(&Key::Contact(id)),
                "{contact:?}"
            );
        }
    }

    // Namesakes cannot be told apart by name: finding one with the same first and last name
    // counts, and so does finding this very contact.
    let name_of = |key: Key| match key {
        Key::Contact(id) => people.get(id as usize).map(typed_name),
        Key::Organization(_) => None,
    };
    let mut rng = SmallRng::seed_from_u64(7);
    let (mut by_name, mut by_key) = (0, 0);
    for (contact, id) in people.iter().zip(0..).step_by(BOOK / QUERIES) {
        let name = typed_name(contact);
        let hits = index.search(&sample::misspell(&mut rng, &name), 10);
        by_key += usize::from(rank_of(&hits, Key::Contact(id)).is_some());
        by_name += usize::from(hits.iter().any(|h| name_of(h.key).as_ref() == Some(&name)));
    }
    let recall = by_name as f64 / QUERIES as f64;
    println!(
        "one typo, top 10: {:.1}% by name, {:.1}% this very contact ({QUERIES} queries, {BOOK} contacts)",
        recall * 100.0,
        by_key as f64 * 100.0 / QUERIES as f64
    );
    // Measured: 99.8% (the misses are typos that make another name closer).
    assert!(recall >= 0.99, "recall {recall}");
}

#[test]
fn a_generated_book_finds_russian_contacts_by_their_latin_spelling() {
    const BOOK: usize = 20_000;
    let people: Vec<SampleContact> = sample::contacts(11, BOOK).collect();
    let index = Index::build(people.iter().zip(0..).map(|(c, id)| c.entry(id)));
    let mut asked = 0;
    let mut found = 0;
    for contact in people.iter().step_by(20) {
        let name = typed_name(contact);
        let latin = switchdesk::directory::translit::to_latin(&name);
        if latin == name {
            continue;
        }
        asked += 1;
        let hits = index.search(&latin, 10);
        // The best hit matches word for word (it may be an English namesake: "David Kim"),
        // and the contact or a Russian namesake is among the ten.
        let namesake = hits.iter().any(|h| match h.key {
            Key::Contact(id) => people
                .get(id as usize)
                .is_some_and(|c| typed_name(c) == name),
            Key::Organization(_) => false,
        });
        found += usize::from(namesake && hits[0].how == MatchKind::Name);
    }
    println!("latin spelling, first hit: {found} of {asked}");
    assert_eq!(found, asked);
}

#[test]
fn a_unique_name_with_one_typo_comes_first() {
    const BOOK: usize = 50_000;
    const QUERIES: usize = 1_000;
    let people: Vec<SampleContact> = sample::contacts(99, BOOK).collect();
    let index = Index::build(people.iter().zip(0..).map(|(c, id)| c.entry(id)));
    let mut namesakes: std::collections::HashMap<String, usize> = Default::default();
    for contact in &people {
        *namesakes
            .entry(typed_name(contact).to_lowercase())
            .or_default() += 1;
    }
    let mut rng = SmallRng::seed_from_u64(3);
    let (mut asked, mut first) = (0, 0);
    let mut missed = Vec::new();
    for (contact, id) in people.iter().zip(0..) {
        let name = typed_name(contact);
        if namesakes[&name.to_lowercase()] != 1 {
            continue;
        }
        let typed = sample::misspell(&mut rng, &name);
        // A typo that spells another contact's whole name asks for that contact.
        if namesakes.contains_key(&typed.to_lowercase()) {
            continue;
        }
        asked += 1;
        let hits = index.search(&typed, 10);
        if rank_of(&hits, Key::Contact(id)) == Some(0) {
            first += 1;
        } else if missed.len() < 20 {
            missed.push((typed, name));
        }
        if asked == QUERIES {
            break;
        }
    }
    let share = first as f64 / asked as f64;
    println!(
        "one typo in a unique name: first {:.1}% ({asked} queries, {BOOK} contacts); missed e.g. {missed:?}",
        share * 100.0
    );
    assert!(share >= 0.95, "first in {:.1}%: {missed:?}", share * 100.0);
}
