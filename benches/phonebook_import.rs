//! Phone-book import throughput: CSV of generated contacts (`directory::sample`: 60% Russian,
//! 40% UK/US, one to three numbers each, written the way people write them: national
//! `8 (495) 123-45-67` or international `+44 20 7946 0018`; 30% name one of `n / 50`
//! organizations, which the import creates by name), imported from memory into a fresh SQLite
//! file and, when `SWITCHDESK_TEST_POSTGRES_URL` is set, into a fresh PostgreSQL database. Each
//! import goes into an empty database: parsing, number normalization, organization lookups and
//! batched saves are all measured.
//!
//! Criterion samples imports of 10,000 contacts (an import of 100,000 takes seconds, and ten
//! samples of it on each backend would take minutes); then one import of 100,000 contacts per
//! backend prints its rows per second.

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchdesk::directory::import::{import, ColumnMap, Format, CONTACT_COLUMNS};
use switchdesk::directory::number::{Numbering, Style};
use switchdesk::directory::sample;

/// Contacts per import sampled by criterion.
const SAMPLED: usize = 10_000;
/// Contacts in the one large import.
const LARGE: usize = 100_000;

/// `rows` contacts as CSV, in the importer's columns.
fn contacts_csv(numbering: &Numbering, rows: usize) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CONTACT_COLUMNS).unwrap();
    for (i, contact) in sample::contacts(7, rows).enumerate() {
        let first_name = match &contact.middle_name {
            Some(middle) => format!("{} {middle}", contact.first_name),
            None => contact.first_name.clone(),
        };
        let phones = contact
            .numbers
            .iter()
            .enumerate()
            .map(|(n, e164)| {
                let (kind, style) = if n == 0 {
                    ("mobile", Style::National)
                } else {
                    ("work", Style::International)
                };
                format!("{kind}:{}", numbering.display(e164, style))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let external_id = format!("bench-{i}");
        let priority = (i % 3).to_string();
        writer
            .write_record([
                external_id.as_str(),
                &first_name,
                &contact.last_name,
                "",
                contact.organization.as_deref().unwrap_or(""),
                "",
                &phones,
                contact.email.as_deref().unwrap_or(""),
                if contact.vip { "yes" } else { "no" },
                &priority,
                "",
                "",
            ])
            .unwrap();
    }
    writer.into_inner().unwrap()
}

/// Imports `csv` into a fresh database and returns how long the import took.
fn timed_import(
    runtime: &tokio::runtime::Runtime,
    postgres: Option<&str>,
    csv: &[u8],
    rows: usize,
) -> Duration {
    let numbering = Numbering::new("RU").unwrap();
    runtime.block_on(async {
        let (store, fresh) = support::fresh(postgres).await;
        let started = Instant::now();
        let report = import(
            &store,
            &numbering,
            csv,
            Format::Csv,
            None,
            &ColumnMap::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
        let took = started.elapsed();
        assert_eq!(report.saved as usize, rows, "{:?}", report.failures.first());
        support::remove(store, fresh).await;
        took
    })
}

fn bench(c: &mut Criterion) {
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let numbering = Numbering::new("RU").unwrap();
    let sampled = contacts_csv(&numbering, SAMPLED);
    let large = contacts_csv(&numbering, LARGE);
    let backends = support::backends();

    let mut group = c.benchmark_group("phonebook_import");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(SAMPLED as u64));
    for (name, url) in &backends {
        let url = url.as_deref();
        group.bench_function(format!("{name}_10k_contacts"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| timed_import(&runtime, url, &sampled, SAMPLED))
                    .sum()
            })
        });
    }
    group.finish();

    for (name, url) in &backends {
        let url = url.as_deref();
        let took = timed_import(&runtime, url, &large, LARGE);
        eprintln!(
            "phonebook import of {LARGE} contacts into {name}: {:.0} rows/s ({:.2} s)",
            LARGE as f64 / took.as_secs_f64(),
            took.as_secs_f64()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
