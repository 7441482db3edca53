//! The phone book synced from a real directory: Debian's OpenLDAP `slapd`, started by each test
//! on a free port with its own configuration (mdb, the core/cosine/inetorgperson/nis schemas
//! and AD's `ipPhone` and `company`), loaded from `tests/fixtures/ldap/people.ldif`, killed
//! when the test ends. The sync binds as a reader limited to 3 entries per page, so nine people
//! arrive only if the paged search works. Without slapd the tests are skipped with a message,
//! unless `CI` is set, where they fail (apt-get install slapd ldap-utils).

#[macro_use]
mod common;

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::service::{eventually, Service};
use common::{TestDb, TestDbRef};
use ldap3::controls::{MakeCritical as _, RelaxRules};
use ldap3::{Ldap, LdapConnAsync};
use switchdesk::config::Secret;
use switchdesk::directory::model::{Contact, Number, NumberKind, Organization};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::sync::ldap::LdapConfig;
use switchdesk::directory::sync::{self, Progress, SourceName, SyncConfig, SyncError, SyncReport};
use switchdesk::directory::PhoneBook;
use switchdesk::store::Store;
use switchdesk::switch::CallerIdentity as _;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SUFFIX: &str = "dc=example,dc=com";
const ROOT_DN: &str = "cn=admin,dc=example,dc=com";
const ROOT_PASSWORD: &str = "root-password";
const READER_DN: &str = "cn=reader,dc=example,dc=com";
const READER_PASSWORD: &str = "reader-password";
const PEOPLE: &str = "ou=people,dc=example,dc=com";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ldap")
}

/// A slapd of the test's own, stopped when dropped.
struct Slapd {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Slapd {
    /// `None` (after saying why) when slapd is not installed and `CI` is not set.
    async fn start() -> Option<Slapd> {
        if !Path::new(SLAPD).exists() || !Path::new(SLAPADD).exists() {
            let message = format!("{SLAPD} is not installed (apt-get install slapd ldap-utils)");
            assert!(std::env::var_os("CI").is_none(), "CI needs {message}");
            eprintln!("skipping the LDAP sync test: {message}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let config = dir.path().join("slapd.conf");
        std::fs::write(
            &config,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 include {schema}\n\
                 pidfile {dir}/slapd.pid\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ROOT_DN}\"\n\
                 rootpw {ROOT_PASSWORD}\n\
                 directory {data}\n\
                 limits dn.exact=\"{READER_DN}\" size.soft=3 size.hard=3 size.pr=3 \
                 size.prtotal=unlimited\n\
                 access to * by * read\n",
                schema = fixtures().join("ad.schema").display(),
                dir = dir.path().display(),
                data = data.display(),
            ),
        )
        .unwrap();
        let loaded = Command::new(SLAPADD)
            .arg("-f")
            .arg(&config)
            .arg("-l")
            .arg(fixtures().join("people.ldif"))
            .output()
            .unwrap();
        assert!(
            loaded.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("ldap://127.0.0.1:{port}");
        // `-d 0`: in the foreground, so the child is slapd itself and dies with the test.
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(&config)
            .arg("-h")
            .arg(format!("{url}/"))
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let slapd = Slapd {
            child,
            url,
            _dir: dir,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(slapd);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("slapd did not listen on {}", slapd.url);
    }

    fn config(&self, password: &str) -> SyncConfig {
        SyncConfig {
            interval_minutes: 0,
            itop: None,
            ldap: Some(LdapConfig {
                url: self.url.clone(),
                bind_dn: READER_DN.to_owned(),
                password: Secret::new(password),
                base_dn: PEOPLE.to_owned(),
                filter: "(|(objectClass=person)(objectClass=user))".to_owned(),
                page_size: 3,
                timeout_secs: 10,
            }),
        }
    }

    /// A connection bound as the directory's administrator, to change it under the sync.
    async fn admin(&self) -> Ldap {
        let (connection, mut ldap) = LdapConnAsync::new(&self.url).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.drive().await;
        });
        ldap.simple_bind(ROOT_DN, ROOT_PASSWORD)
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap
    }
}

fn numbering() -> Numbering {
    Numbering::with_regions(Some("RU"), &["GB", "US"]).unwrap()
}

/// The pages as the source told them.
#[derive(Default)]
struct Told(Mutex<Vec<usize>>);

/// A `Told` of the test's own, for the `'static` a boxed `Progress` needs.
fn told() -> &'static Told {
    Box::leak(Box::default())
}

impl Progress for &'static Told {
    fn fetched(&self, what: &'static str, done: usize, _: Option<usize>) {
        assert_eq!(what, "contacts");
        self.0.lock().unwrap().push(done);
    }
}

async fn sync_ldap(store: &Store, config: &SyncConfig, told: &'static Told) -> SyncReport {
    let mut outcomes = sync::run(config, store, &numbering(), None, &|source| {
        assert_eq!(source, SourceName::Ldap);
        Box::new(told)
    })
    .await;
    assert_eq!(outcomes.len(), 1);
    let outcome = outcomes.remove(0);
    assert_eq!(outcome.source, SourceName::Ldap);
    outcome.result.expect("the sync succeeds")
}

/// The synced contacts by name ("First Last").
async fn contacts(store: &Store) -> Vec<(String, Contact)> {
    let mut all: Vec<Contact> = store.records_after(0, 1000).await.unwrap();
    all.sort_by_key(|c| c.display_name());
    all.into_iter().map(|c| (c.display_name(), c)).collect()
}

async fn contact(store: &Store, name: &str) -> Contact {
    contacts(store)
        .await
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is stored"))
        .1
}

fn number(number: &str, kind: NumberKind) -> Number {
    Number {
        number: number.to_owned(),
        kind,
    }
}

async fn organization_name(store: &Store, contact: &Contact) -> Option<String> {
    let id = contact.organization_id?;
    Some(store.record::<Organization>(id).await.unwrap().name)
}

/// Nine people through pages of three; their numbers, e-mails and companies stored, every
/// number that is not one reported with the person; then one person deleted in the directory
/// and another moved out of the base DN: both removed softly (kept, not identified); moved
/// back and re-added with the same entryUUID, both restored.
async fn a_directory_is_synced_through_pages_removed_and_restored(db: TestDbRef) {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let store = &db.store;
    let config = slapd.config(READER_PASSWORD);
    let first = told();
    let report = sync_ldap(store, &config, first).await;

    // Nine people arrived, though the reader may see three entries per page.
    assert_eq!(report.contacts.fetched, 9, "{report:#?}");
    assert_eq!(report.contacts.created, 9);
    assert_eq!(*first.0.lock().unwrap(), vec![3, 6, 9, 9]);
    let mut created = report.organizations_created.clone();
    created.sort();
    assert_eq!(created, ["Acme Ltd", "Globex", "ООО Ромашка"]);

    let names: Vec<String> = contacts(store).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Alice White",
            "John Smith",
            "Paul Brown",
            "Reception",
            "Анна Мария Иванова",
            "Елена Кузнецова",
            "Иван Петров",
            "Мария Сидорова",
            "Новиков",
        ]
    );
    let ivan = contact(store, "Иван Петров").await;
    assert_eq!(
        ivan.numbers,
        [
            number("+74951234567", NumberKind::Work),
            number("+79161234567", NumberKind::Mobile),
            number("1001", NumberKind::Extension),
        ]
    );
    assert_eq!(ivan.emails, ["i.petrov@romashka.example"]);
    assert_eq!(
        organization_name(store, &ivan).await.as_deref(),
        Some("ООО Ромашка")
    );
    let maria = contact(store, "Мария Сидорова").await;
    assert_eq!(
        maria.organization_id, ivan.organization_id,
        "one organization per name"
    );
    let john = contact(store, "John Smith").await;
    assert_eq!(
        john.numbers,
        [
            number("+442079460018", NumberKind::Work),
            number("1002", NumberKind::Extension),
        ]
    );
    assert_eq!(john.emails, ["john.smith@acme.example"]);
    let anna = contact(store, "Анна Мария Иванова").await;
    assert_eq!(
        (anna.first_name.as_str(), anna.last_name.as_str()),
        ("Анна Мария", "Иванова")
    );
    assert_eq!(anna.numbers, [number("+74957654321", NumberKind::Work)]);
    assert_eq!(
        organization_name(store, &anna).await.as_deref(),
        Some("Acme Ltd")
    );
    assert_eq!(
        contact(store, "Reception").await.numbers,
        [number("1000", NumberKind::Extension)]
    );
    let paul = contact(store, "Paul Brown").await;
    assert_eq!(paul.numbers, [number("+12125550147", NumberKind::Work)]);
    assert_eq!(
        organization_name(store, &paul).await.as_deref(),
        Some("Globex")
    );
    assert_eq!(
        contact(store, "Новиков").await.numbers,
        [number("+74952223344", NumberKind::Work)]
    );
    let alice = contact(store, "Alice White").await;
    assert!(alice.numbers.is_empty());

    // Every refused number, with the person it belongs to; the rest of each is stored.
    let refused: Vec<String> = report.refused.iter().map(|r| r.to_string()).collect();
    let id = |c: &Contact| c.external_id.clone().unwrap();
    assert!(id(&ivan).starts_with("ldap:") && id(&ivan).len() > "ldap:".len() + 30);
    let mut expected = vec![
        format!(
            "{} (Мария Сидорова): phones: \"8 495 000\" is not a valid number for RU, GB, US",
            id(&maria)
        ),
        format!(
            "{} (John Smith): phones: \"12\" is not a valid number for RU, GB, US",
            id(&john)
        ),
        format!(
            "{} (Анна Мария Иванова): phones: \"12\" is not a phone number: an internal \
             extension is 3 to 6 digits",
            id(&anna)
        ),
        format!(
            "{} (Alice White): phones: no digits in \"call the front desk\"",
            id(&alice)
        ),
    ];
    let mut refused_sorted = refused.clone();
    refused_sorted.sort();
    expected.sort();
    assert_eq!(refused_sorted, expected);
    assert_eq!(report.refused_count, 4);

    // Found by number and by name, as a caller would be.
    let book = PhoneBook::load(store, numbering()).await.unwrap();
    let identity = book.identify(Some("+74951234567"), "");
    assert_eq!(
        identity.contact.map(|c| c.id),
        Some(ivan.id),
        "identified by the directory's number"
    );
    assert_eq!(identity.label.as_deref(), Some("Иван Петров - ООО Ромашка"));

    // Unchanged, a second sync writes nothing.
    let second = told();
    let again = sync_ldap(store, &config, second).await;
    assert_eq!(
        (
            again.contacts.created,
            again.contacts.updated,
            again.contacts.unchanged
        ),
        (0, 0, 9)
    );
    assert!(again.organizations_created.is_empty());

    // Maria deleted in the directory, Ivan moved out of the base DN.
    let mut admin = slapd.admin().await;
    admin
        .delete(&format!("uid=msidorova,{PEOPLE}"))
        .await
        .unwrap()
        .success()
        .unwrap();
    admin
        .modifydn(
            &format!("uid=ipetrov,{PEOPLE}"),
            "uid=ipetrov",
            true,
            Some("ou=former,dc=example,dc=com"),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let third = told();
    let removal = sync_ldap(store, &config, third).await;
    assert_eq!(removal.contacts.fetched, 7);
    assert_eq!(removal.contacts.removed, 2);
    assert_eq!(removal.contacts.unchanged, 7);
    let removed: Contact = store.record(ivan.id).await.unwrap();
    assert!(removed.removed_at.is_some(), "kept, marked removed");
    assert_eq!(removed.numbers, ivan.numbers, "kept as it was");
    assert!(store
        .record::<Contact>(maria.id)
        .await
        .unwrap()
        .removed_at
        .is_some());
    book.catch_up(store).await.unwrap();
    assert_eq!(book.identify(Some("+74951234567"), "").contact, None);
    assert!(book.search("Петров", 10).is_empty(), "not found by search");
    assert!(book.identify(Some("+12125550147"), "").contact.is_some());

    // Ivan moved back, Maria added again with her entryUUID (as a directory's recycle bin
    // restores an entry): both come back, as the same contacts.
    admin
        .modifydn(
            "uid=ipetrov,ou=former,dc=example,dc=com",
            "uid=ipetrov",
            true,
            Some(PEOPLE),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let uuid = id(&maria).trim_start_matches("ldap:").to_owned();
    let set = |v: &str| HashSet::from([v.to_owned()]);
    admin
        .with_controls(RelaxRules.critical())
        .add(
            &format!("uid=msidorova,{PEOPLE}"),
            vec![
                (
                    "objectClass".to_owned(),
                    HashSet::from(["inetOrgPerson".to_owned(), "switchdeskPhones".to_owned()]),
                ),
                ("uid".to_owned(), set("msidorova")),
                ("cn".to_owned(), set("Мария Сидорова")),
                ("givenName".to_owned(), set("Мария")),
                ("sn".to_owned(), set("Сидорова")),
                ("mobile".to_owned(), set("+7 (926) 555-12-34")),
                ("company".to_owned(), set("ООО Ромашка")),
                ("entryUUID".to_owned(), set(&uuid)),
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let fourth = told();
    let back = sync_ldap(store, &config, fourth).await;
    assert_eq!(back.contacts.fetched, 9);
    assert_eq!(back.contacts.created, 0);
    assert_eq!(back.contacts.restored, 2);
    assert_eq!(back.contacts.unchanged, 7);
    let restored: Contact = store.record(ivan.id).await.unwrap();
    assert_eq!(restored.removed_at, None);
    let maria_back: Contact = store.record(maria.id).await.unwrap();
    assert_eq!(maria_back.removed_at, None);
    assert_eq!(
        maria_back.numbers,
        [number("+79265551234", NumberKind::Mobile)]
    );
    book.catch_up(store).await.unwrap();
    assert_eq!(
        book.identify(Some("+74951234567"), "")
            .contact
            .map(|c| c.id),
        Some(ivan.id)
    );
}

/// A wrong bind password: the source's error says so (and never the password), and nothing
/// is removed.
async fn a_refused_bind_is_a_source_error_that_removes_nothing(db: TestDbRef) {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let store = &db.store;
    let first = told();
    sync_ldap(store, &slapd.config(READER_PASSWORD), first).await;
    let wrong = slapd.config("not-the-password");
    let outcomes = sync::run(&wrong, store, &numbering(), None, &|_| Box::new(first)).await;
    assert_eq!(outcomes.len(), 1);
    match &outcomes[0].result {
        Err(SyncError::Source {
            source_name,
            reason,
        }) => {
            assert_eq!(*source_name, "ldap");
            assert!(
                reason.contains("binding as \"cn=reader,dc=example,dc=com\" was refused")
                    && reason.contains("invalidCredentials"),
                "{reason}"
            );
            assert!(!reason.contains("not-the-password"));
        }
        other => panic!("a source error, not {other:?}"),
    }
    assert!(!outcomes[0].is_clean());
    let removed = store
        .records_after_by_removal::<Contact>(0, 100, true)
        .await
        .unwrap();
    assert!(removed.is_empty(), "nothing removed: {removed:?}");
    assert_eq!(store.count_in_use::<Contact>().await.unwrap(), 9);
}

on_both_backends!(
    a_directory_is_synced_through_pages_removed_and_restored,
    a_refused_bind_is_a_source_error_that_removes_nothing,
);

/// `switchdesk phonebook sync` against the directory: the counts and each refused number on
/// stdout, exit status 1 because some were refused; `--source itop` unconfigured fails.
#[tokio::test]
async fn the_command_prints_the_report_and_fails_on_refusals() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchdesk.toml");
    std::fs::write(
        &file,
        format!(
            "[database]\nurl = \"sqlite://{}/book.db\"\n\
             [phonebook]\ndefault_region = \"RU\"\nregions = [\"GB\", \"US\"]\n\
             [phonebook.sync]\ninterval_minutes = 0\n\
             [phonebook.sync.ldap]\nurl = \"{}\"\nbind_dn = \"{READER_DN}\"\n\
             base_dn = \"{PEOPLE}\"\npage_size = 3\n",
            dir.path().display(),
            slapd.url
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_switchdesk"))
            .arg("--config")
            .arg(&file)
            .args(args)
            // The password from the environment, as a deployment keeps it out of the file.
            .env(
                "SWITCHDESK_PHONEBOOK__SYNC__LDAP__PASSWORD",
                READER_PASSWORD,
            )
            .output()
            .unwrap()
    };
    let out = run(&["phonebook", "sync"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "ldap: contacts 9 fetched, 9 created, 0 updated, 0 unchanged, 0 removed, 0 restored, \
             0 not stored"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("(John Smith): phones: \"12\" is not a valid number for RU, GB, US"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("refused: ldap:").count(), 4, "{stdout}");
    assert!(stderr.contains("4 values were refused"), "{stderr}");

    let out = run(&["phonebook", "sync", "--source", "itop"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[phonebook.sync.itop] is not configured"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(&["check-config"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("phone-book sync: LDAP"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The value of one series in `/metrics`' text, if it is there.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// `serve` with `[phonebook.sync.ldap]`: the supervised `phonebook-sync` task syncs at start,
/// the running phone book finds the people at once, and `/metrics` shows the run.
#[tokio::test]
async fn serve_syncs_at_start_and_shows_the_run_in_the_metrics() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let sim = common::service::simulator(14, Duration::from_secs(20)).await;
    let spool = tempfile::tempdir().unwrap();
    let mut config = common::service::config(&db, &sim, spool.path());
    config.phonebook.default_region = Some("RU".into());
    config.phonebook.regions = vec!["GB".into(), "US".into()];
    config.phonebook.sync = SyncConfig {
        interval_minutes: 60,
        ..slapd.config(READER_PASSWORD)
    };
    let token = switchdesk::users::add_api_token(
        &db.store,
        "prometheus",
        switchdesk::users::Role::Supervisor,
    )
    .await
    .unwrap();
    let running = Service::start(config).await;
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", running.base))
            .bearer_auth(&token)
            .send()
    };
    let text = eventually("the first sync in the metrics", async || {
        let text = get("/metrics").await.ok()?.text().await.ok()?;
        series(
            &text,
            "switchdesk_phonebook_sync_last_run_timestamp_seconds{source=\"ldap\"}",
        )?;
        Some(text)
    })
    .await;
    let value = |name: &str| series(&text, name).unwrap_or_else(|| panic!("{name} in\n{text}"));
    assert_eq!(
        value("switchdesk_phonebook_sync_failed{source=\"ldap\"}"),
        0.0
    );
    assert_eq!(
        value("switchdesk_phonebook_sync_records{outcome=\"created\",source=\"ldap\"}"),
        9.0
    );
    assert_eq!(
        value("switchdesk_phonebook_sync_records{outcome=\"refused\",source=\"ldap\"}"),
        4.0
    );
    assert!(
        value("switchdesk_phonebook_sync_last_success_timestamp_seconds{source=\"ldap\"}") > 1.7e9
    );
    let hits: serde_json::Value =
        get("/api/contacts/search?q=%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(hits[0]["name"], "Иван Петров", "{hits}");
    assert_eq!(hits[0]["organization"]["name"], "ООО Ромашка");
    running.stop().await;
    drop(db);
}
