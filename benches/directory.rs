//! The phone book's search index at the size of a big CMDB: 1,000,000 generated contacts (60%
//! Russian, 40% English, one to three numbers each) and 20,000 organizations with DID blocks.
//! Prints the build time and the heap the index holds, then the latency distribution
//! (p50/p99/max) of `by_number` (asked on every incoming call) and of `search` per kind of
//! query an agent types, besides criterion's means.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use switchdesk::directory::sample::{self, SampleContact};
use switchdesk::directory::search::{Entry, Index};
use switchdesk::directory::translit;

/// Counts the bytes the program has asked the allocator for and not given back yet.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only the counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = System.realloc(ptr, layout, new_size);
        if !moved.is_null() {
            IN_USE.fetch_add(new_size, Ordering::Relaxed);
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONTACTS: usize = 1_000_000;
const ORGANIZATIONS: usize = 20_000;
const SEED: u64 = 2024;
/// Lookups per kind (existing, unknown) for the `by_number` distribution.
const LOOKUPS: usize = 100_000;
/// Queries per kind for the `search` distribution.
const QUERIES: usize = 500;

const KINDS: [&str; 6] = ["exact", "typo", "swapped", "latin", "partial", "digits"];

/// What the agents type, `QUERIES` of each kind, from contacts spread over the whole book.
fn queries(people: &[SampleContact], rng: &mut SmallRng) -> Vec<(usize, String)> {
    let mut queries = Vec::new();
    let name = |c: &SampleContact| format!("{} {}", c.first_name, c.last_name);
    let start = |text: &str, n: usize| text.chars().take(n).collect::<String>();
    for (kind, _) in KINDS.iter().enumerate() {
        let mut made = 0;
        while made < QUERIES {
            let c = &people[rng.random_range(0..people.len())];
            let query = match kind {
                0 => name(c),
                1 => sample::misspell(rng, &name(c)),
                2 => format!("{} {}", c.last_name, c.first_name),
                3 => {
                    let latin = translit::to_latin(&name(c));
                    if latin == name(c) {
                        continue;
                    }
                    latin
                }
                4 => format!("{} {}", start(&c.first_name, 3), start(&c.last_name, 4)),
                _ => {
                    let number = &c.numbers[rng.random_range(0..c.numbers.len())];
                    let digits = number.trim_start_matches('+');
                    let len = rng.random_range(4..=7).min(digits.len());
                    let from = if rng.random_bool(0.7) {
                        digits.len() - len
                    } else {
                        rng.random_range(0..=digits.len() - len)
                    };
                    digits[from..from + len].to_owned()
                }
            };
            queries.push((kind, query));
            made += 1;
        }
    }
    queries
}

fn percentiles(label: &str, mut spent: Vec<Duration>) {
    spent.sort();
    let at = |p: f64| spent[((spent.len() as f64 - 1.0) * p) as usize];
    println!(
        "directory {label} over {}: p50 {:?}, p99 {:?}, max {:?}",
        spent.len(),
        at(0.50),
        at(0.99),
        spent.last().copied().unwrap_or_default()
    );
}

fn bench(c: &mut Criterion) {
    // What the measurements need is drawn before the index is built, so that it is not
    // counted in the index's memory: every tenth contact, and numbers nobody has.
    let mut rng = SmallRng::seed_from_u64(1);
    let people: Vec<SampleContact> = sample::contacts(SEED, CONTACTS).step_by(10).collect();
    let known: Vec<String> = (0..LOOKUPS)
        .map(|_| {
            let c = &people[rng.random_range(0..people.len())];
            c.numbers[rng.random_range(0..c.numbers.len())].clone()
        })
        .collect();
    let unknown: Vec<String> = sample::contacts(SEED + 1, LOOKUPS)
        .map(|c| c.numbers[0].clone())
        .collect();
    let queries = queries(&people, &mut rng);

    let before = IN_USE.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut entries: Vec<Entry> = sample::contacts(SEED, CONTACTS)
        .zip(0..)
        .map(|(c, id)| c.entry(id))
        .collect();
    entries.extend(
        sample::organizations(SEED, ORGANIZATIONS)
            .zip(0..)
            .map(|(o, id)| o.entry(id)),
    );
    let generated = started.elapsed();
    let started = Instant::now();
    let index = Index::build(entries);
    let built = started.elapsed();
    let held = IN_USE.load(Ordering::Relaxed).saturating_sub(before);
    let stats = index.stats();
    println!(
        "directory build: {} entries in {built:?} (generated in {generated:?}); the index holds {:.1} MiB of heap, {} bytes an entry; {stats:?}",
        stats.entries,
        held as f64 / (1024.0 * 1024.0),
        held / stats.entries.max(1),
    );

    for (label, numbers) in [
        ("by_number existing", &known),
        ("by_number unknown", &unknown),
    ] {
        let mut found = 0;
        let spent: Vec<Duration> = numbers
            .iter()
            .map(|n| {
                let started = Instant::now();
                found += usize::from(!criterion::black_box(index.by_number(n)).is_empty());
                started.elapsed()
            })
            .collect();
        percentiles(&format!("{label} ({found} found)"), spent);
    }

    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    let mut hits = vec![0usize; KINDS.len()];
    for (kind, query) in &queries {
        let started = Instant::now();
        let found = criterion::black_box(index.search(query, 10));
        by_kind[*kind].push(started.elapsed());
        hits[*kind] += found.len();
    }
    let mut all = Vec::new();
    for ((kind, spent), hits) in KINDS.iter().zip(by_kind).zip(hits) {
        all.extend_from_slice(&spent);
        percentiles(
            &format!(
                "search {kind} ({:.1} hits a query)",
                hits as f64 / QUERIES as f64
            ),
            spent,
        );
    }
    percentiles("search, all kinds", all);
    typo_first_share(&index, &people, &mut rng);

    let mut group = c.benchmark_group("directory");
    group.measurement_time(Duration::from_secs(5));
    let mut next = 0;
    group.bench_function("by_number", |b| {
        b.iter(|| {
            next = (next + 1) % known.len();
            index.by_number(&known[next]).len()
        })
    });
    let mut next = 0;
    group.bench_function("search mix", |b| {
        b.iter(|| {
            next = (next + 1) % queries.len();
            index.search(&queries[next].1, 10).len()
        })
    });
    group.finish();
}

/// How often one typo in a name nobody else has still puts that contact first, over the
/// whole book (`people` is every tenth contact, so `people[i]` is contact `10 * i`).
fn typo_first_share(index: &Index, people: &[SampleContact], rng: &mut SmallRng) {
    let name = |c: &SampleContact| format!("{} {}", c.first_name, c.last_name);
    let mut namesakes: std::collections::HashMap<String, u32> = Default::default();
    let mut shown: Vec<String> = Vec::with_capacity(CONTACTS);
    for contact in sample::contacts(SEED, CONTACTS) {
        *namesakes.entry(name(&contact).to_lowercase()).or_default() += 1;
        shown.push(contact.display_name());
    }
    let shown = |key: switchdesk::directory::search::Key| match key {
        switchdesk::directory::search::Key::Contact(id) => usize::try_from(id)
            .ok()
            .and_then(|id| shown.get(id))
            .cloned()
            .unwrap_or_default(),
        switchdesk::directory::search::Key::Organization(id) => format!("organization {id}"),
    };
    let mut missed = Vec::new();
    let (mut asked, mut first) = (0usize, 0usize);
    for (i, contact) in people.iter().enumerate() {
        let written = name(contact);
        if namesakes[&written.to_lowercase()] != 1 {
            continue;
        }
        let typed = sample::misspell(rng, &written);
        if namesakes.contains_key(&typed.to_lowercase()) {
            continue;
        }
        asked += 1;
        let hits = index.search(&typed, 10);
        let id = i64::try_from(i * 10).unwrap_or(i64::MAX);
        let meant = switchdesk::directory::search::Key::Contact(id);
        match hits.iter().position(|h| h.key == meant) {
            Some(0) => first += 1,
            place => missed.push(format!(
                "{typed:?} meant {:?} (place {place:?}), first {:?} {:.3}{}",
                contact.display_name(),
                shown(hits.first().map_or(meant, |h| h.key)),
                hits.first().map_or(0.0, |h| h.score),
                place
                    .and_then(|p| hits.get(p))
                    .map_or_else(String::new, |h| format!(" vs {:.3}", h.score)),
            )),
        }
        if asked == 2_000 {
            break;
        }
    }
    println!(
        "directory typo: one typo in a unique name puts its contact first in {:.1}% of {asked} queries",
        first as f64 * 100.0 / asked.max(1) as f64
    );
    for miss in missed.iter().take(20) {
        println!("directory typo missed: {miss}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
