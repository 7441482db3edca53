//! Malformed input against every reader of outside data besides the ESL parser (which has its
//! own, `esl_props.rs`): the CDR reader (mod_xml_cdr's form body, its log files, the XML), the
//! fax TIFF reader and converter, the alarm reader (Zabbix, Alertmanager), and the phone-book
//! importers (CSV and vCard, through the store). Each input is a real capture or export
//! (`tests/fixtures/`) mutated: bytes flipped, inserted, removed, the tail cut, a slice
//! repeated. The property: an answer, `Ok` or a clear error, never a panic, and for the
//! importers nothing half-done to the database.
//!
//! CI runs the default number of cases; a longer hunt by hand:
//! `PROPTEST_CASES=20000 cargo test --release --test fuzz`. A failure is saved by proptest in
//! `tests/fuzz.proptest-regressions` and replayed first on every later run.

mod captures;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use switchdesk::cdr::parse::{cdr_from_file, cdr_from_form, parse_cdr};
use switchdesk::directory::import::{import, ColumnMap, Format};
use switchdesk::directory::model::Contact;
use switchdesk::directory::number::Numbering;
use switchdesk::fax::{tiff_pages, tiff_to_pdf};
use switchdesk::store::Store;

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {suffix} in {}", dir.display());
    files
}

fn seeds(dir: &Path, suffix: &str) -> Vec<Vec<u8>> {
    files(dir, suffix)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn fuzz_seeds(suffix: &str) -> Vec<Vec<u8>> {
    seeds(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz"),
        suffix,
    )
}

/// One change to an input.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Cut(usize),
    Repeat(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Repeat(at, len)),
    ]
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Flip(at, b) if len > 0 => bytes[at % len] ^= b | 1,
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Remove(at) if len > 0 => {
                bytes.remove(at % len);
            }
            Mutation::Cut(at) => bytes.truncate(at % (len + 1)),
            Mutation::Repeat(at, n) if len > 0 => {
                let start = at % len;
                let end = (start + n).min(len);
                let slice = bytes[start..end].to_vec();
                bytes.splice(end..end, slice);
            }
            _ => {}
        }
    }
    bytes
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every captured CDR (the POST bodies and the log files), mutated, read as mod_xml_cdr's
    /// form body, as a file of either log directory, and as the XML itself.
    #[test]
    fn a_broken_cdr_is_an_error_never_a_panic(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 0..12),
    ) {
        let root = captures::freeswitch().join("cdr");
        let mut corpus = seeds(&root.join("logdir"), ".cdr.xml");
        corpus.extend(seeds(&root.join("http"), ".http"));
        let bytes = mutate(&corpus[pick % corpus.len()], &mutations);
        let body = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(&bytes[..], |at| &bytes[at + 4..]);
        if let Ok(xml) = cdr_from_form(body) {
            let _ = parse_cdr(&xml);
        }
        if let Ok(xml) = cdr_from_file(&bytes) {
            let _ = parse_cdr(&xml);
        }
        let _ = parse_cdr(&bytes);
    }

    /// Every alarm payload (Zabbix's and Alertmanager's, `tests/fixtures/alarms/`), mutated
    /// and read as `POST /api/alarms` reads it: JSON that still parses is alarms or a reason.
    #[test]
    fn a_broken_alarm_is_a_reason_never_a_panic(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 0..12),
    ) {
        let corpus = seeds(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alarms"),
            ".json",
        );
        let bytes = mutate(&corpus[pick % corpus.len()], &mutations);
        if let Ok(document) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if let Err(reason) = switchdesk::incidents::alarm::parse(&document) {
                prop_assert!(!reason.0.is_empty());
            }
        }
    }

    /// The received and the sent fax TIFF, mutated: their pages read, and converted to PDF.
    #[test]
    fn a_broken_tiff_is_an_error_never_a_panic(
        pick in any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 1..12),
    ) {
        let name = if pick { "fax/rx.tif" } else { "fax/tx.tif" };
        let seed = std::fs::read(captures::freeswitch().join(name)).unwrap();
        let bytes = mutate(&seed, &mutations);
        let _ = tiff_pages(&bytes);
        if let Ok(pdf) = tiff_to_pdf(&bytes, Some("fuzz")) {
            prop_assert!(pdf.bytes.starts_with(b"%PDF-"));
        }
    }
}

proptest! {
    #![proptest_config(cases(48))]

    /// The phone-book exports (CSV of each kind, vCard), mutated, imported into a fresh
    /// database: a report or a clear error, and the database still answers afterwards.
    #[test]
    fn a_broken_phone_book_is_reported_never_a_panic(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 0..10),
    ) {
        let mut corpus = fuzz_seeds(".csv");
        corpus.extend(fuzz_seeds(".vcf"));
        let bytes = mutate(&corpus[pick % corpus.len()], &mutations);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = Store::connect("sqlite::memory:", 1).await.unwrap();
            let numbering = Numbering::new("RU").unwrap();
            let _ = import(&store, &numbering, Cursor::new(bytes), Format::Auto, None, &ColumnMap::default(), &mut |_| {}).await;
            // Whatever happened, the database answers and holds only whole records.
            let contacts = store.records_after::<Contact>(0, 1000).await;
            prop_assert!(contacts.is_ok(), "{contacts:?}");
            Ok(())
        })?;
    }
}

/// The seeds themselves import cleanly, so the mutations start from real, accepted input.
#[tokio::test]
async fn the_seeds_import_without_a_failed_row() {
    let store = Store::connect("sqlite::memory:", 1).await.unwrap();
    let numbering = Numbering::new("RU").unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    for name in [
        "organizations.csv",
        "contacts.csv",
        "assets.csv",
        "contacts.vcf",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let report = import(
            &store,
            &numbering,
            Cursor::new(bytes),
            Format::Auto,
            None,
            &ColumnMap::default(),
            &mut |_| {},
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.saved > 0, "{name}: {report:?}");
        assert_eq!(report.failed, 0, "{name}: {:?}", report.failures);
    }
}
