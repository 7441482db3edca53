//! The iTop source against iTop's own replies: a local server answers every request with what a
//! real iTop 3.2 answered to the same request (tests/fixtures/itop, README.md there says how they
//! were recorded), and keeps what it was sent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query};
use axum::http::StatusCode;
use switchdesk::directory::model::NumberKind;
use switchdesk::directory::sync::itop::{ItopConfig, ItopSource};
use switchdesk::directory::sync::{Progress, Snapshot, SourceContact, SourceNumber, SyncError};
use switchdesk::secret::Secret;

const USER: &str = "switchdesk";
const PASSWORD: &str = "Sync-Pass-2026!";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/itop")
}

/// A recorded reply body, byte for byte.
fn recorded(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(format!("{name}.response.json"))).unwrap()
}

/// The `json_data` of a recorded request.
fn recorded_json_data(name: &str) -> String {
    let request =
        std::fs::read_to_string(fixture_dir().join(format!("{name}.request.txt"))).unwrap();
    request
        .lines()
        .find_map(|line| line.strip_prefix("json_data="))
        .unwrap()
        .to_owned()
}

/// One request as the fake iTop received it.
#[derive(Clone, Debug)]
struct Received {
    query: HashMap<String, String>,
    form: HashMap<String, String>,
    class: String,
    page: u64,
}

/// What the fake iTop answers to a `core/get` of `class`, page `page`.
type Answer = dyn Fn(&str, u64) -> (StatusCode, Vec<u8>) + Send + Sync;

struct FakeItop {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeItop {
    async fn start(answer: Arc<Answer>) -> FakeItop {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().route(
            "/itop/webservices/rest.php",
            axum::routing::post(
                move |Query(query): Query<HashMap<String, String>>,
                      Form(form): Form<HashMap<String, String>>| {
                    let (log, answer) = (log.clone(), answer.clone());
                    async move {
                        let json: serde_json::Value =
                            serde_json::from_str(&form["json_data"]).unwrap();
                        let class = json["class"].as_str().unwrap_or_default().to_owned();
                        let page = json["page"].as_u64().unwrap_or(1);
                        let (status, body) = answer(&class, page);
                        log.lock().unwrap().push(Received {
                            query,
                            form,
                            class,
                            page,
                        });
                        (
                            status,
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            body,
                        )
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/itop/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeItop { url, received }
    }

    /// Answers as the recorded iTop: organizations pages, and the persons pages of `persons`
    /// ("persons", or "persons_after_delete" once Emily Chen was deleted).
    async fn recorded(persons: Arc<Mutex<&'static str>>) -> FakeItop {
        FakeItop::with_persons(move |page| {
            recorded(&format!("{}.page{page}", persons.lock().unwrap()))
        })
        .await
    }

    /// Organizations as recorded; `persons(page)` for the persons.
    async fn with_persons(persons: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static) -> FakeItop {
        FakeItop::start(Arc::new(move |class: &str, page: u64| match class {
            "Organization" => (
                StatusCode::OK,
                recorded(&format!("organizations.page{page}")),
            ),
            _ => (StatusCode::OK, persons(page)),
        }))
        .await
    }

    /// The same reply to every request.
    async fn always(status: StatusCode, body: Vec<u8>) -> FakeItop {
        FakeItop::start(Arc::new(move |_: &str, _: u64| (status, body.clone()))).await
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn config(&self) -> ItopConfig {
        ItopConfig {
            url: self.url.clone(),
            user: USER.into(),
            password: Secret::new(PASSWORD),
            page_size: 5,
            ..ItopConfig::default()
        }
    }
}

/// Keeps what the source told.
#[derive(Default)]
struct Told(Mutex<Vec<(&'static str, usize, Option<usize>)>>);

impl Progress for Told {
    fn fetched(&self, what: &'static str, done: usize, total: Option<usize>) {
        self.0.lock().unwrap().push((what, done, total));
    }
}

async fn pull(config: &ItopConfig) -> Result<Snapshot, SyncError> {
    ItopSource::new(config)
        .unwrap()
        .pull(&Told::default())
        .await
}

/// The reason of a source error, after checking it names iTop and keeps the password out.
fn source_reason(result: Result<Snapshot, SyncError>) -> String {
    match result {
        Err(SyncError::Source {
            source_name,
            reason,
        }) => {
            assert_eq!(source_name, "itop");
            assert!(!reason.contains(PASSWORD), "{reason}");
            reason
        }
        other => panic!("expected a source error, got {other:?}"),
    }
}

fn number(text: &str, kind: NumberKind) -> SourceNumber {
    SourceNumber {
        text: text.into(),
        kind,
    }
}

fn contact<'a>(snapshot: &'a Snapshot, key: &str) -> &'a SourceContact {
    snapshot
        .contacts
        .iter()
        .find(|c| c.source_id == key)
        .unwrap_or_else(|| panic!("no person {key}"))
}

#[tokio::test]
async fn a_pull_reads_every_page_of_organizations_and_persons() {
    let itop = FakeItop::recorded(Arc::new(Mutex::new("persons"))).await;
    let told = Told::default();
    let snapshot = ItopSource::new(&itop.config())
        .unwrap()
        .pull(&told)
        .await
        .unwrap();

    let organizations: Vec<(&str, &str)> = snapshot
        .organizations
        .iter()
        .map(|o| (o.source_id.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(
        organizations,
        [
            ("1", "My Company/Department"),
            ("2", "ООО «Ромашка»"),
            ("3", "АО \"Техносервис\""),
            ("4", "Northwind Traders Ltd"),
            ("5", "Acme Corp."),
            ("6", "ИП Зайцев А. В."),
            ("7", "Wayne & Partners LLP"),
        ]
    );
    assert!(snapshot
        .organizations
        .iter()
        .all(|o| o.numbers.is_empty() && o.emails.is_empty()));

    let keys: Vec<&str> = snapshot
        .contacts
        .iter()
        .map(|c| c.source_id.as_str())
        .collect();
    assert_eq!(
        keys,
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"]
    );
    assert_eq!(
        contact(&snapshot, "2"),
        &SourceContact {
            source_id: "2".into(),
            organization_source_id: Some("2".into()),
            organization_name: None,
            first_name: "Иван".into(),
            last_name: "Петров".into(),
            numbers: vec![
                number("+7 495 123-45-67", NumberKind::Work),
                number("8 (916) 555-12-34", NumberKind::Mobile),
            ],
            emails: vec!["i.petrov@romashka.ru".into()],
        }
    );
    let kuznetsov = contact(&snapshot, "4");
    assert_eq!(
        kuznetsov.numbers,
        [
            number("1001", NumberKind::Work),
            number("+7 (903) 111-22-33", NumberKind::Mobile)
        ]
    );
    let smirnova = contact(&snapshot, "5");
    assert_eq!(
        (smirnova.first_name.as_str(), smirnova.last_name.as_str()),
        ("Ольга", "Смирнова")
    );
    assert!(smirnova.numbers.is_empty() && smirnova.emails.is_empty());
    assert_eq!(smirnova.organization_source_id.as_deref(), Some("3"));
    let whitfield = contact(&snapshot, "6");
    assert_eq!(
        whitfield.numbers,
        [
            number("020 1447 2960", NumberKind::Work),
            number("07700 900123", NumberKind::Mobile)
        ]
    );
    let oconnor = contact(&snapshot, "7");
    assert_eq!(
        (oconnor.first_name.as_str(), oconnor.last_name.as_str()),
        ("Siobhán", "O'Connor")
    );
    assert_eq!(
        oconnor.numbers,
        [number("+44 20 7946 0018", NumberKind::Work)]
    );
    let miller = contact(&snapshot, "8");
    assert_eq!(miller.first_name, "John \"Jack\"");
    assert_eq!(
        miller.numbers[0],
        number("(212) 927-6877", NumberKind::Work)
    );
    assert_eq!(miller.organization_source_id.as_deref(), Some("5"));
    assert_eq!(
        contact(&snapshot, "9").numbers[0],
        number("12345", NumberKind::Work)
    );
    assert_eq!(contact(&snapshot, "11").last_name, "Д'Артаньянов");
    assert_eq!(
        contact(&snapshot, "12").numbers,
        [
            number("+7.495.765.43.21", NumberKind::Work),
            number("89161234567", NumberKind::Mobile)
        ]
    );

    // Two pages of organizations (5 + 2 of 7), three of persons (5 + 5 + 3 of 13): no more.
    let received = itop.received();
    let pages: Vec<(&str, u64)> = received
        .iter()
        .map(|r| (r.class.as_str(), r.page))
        .collect();
    assert_eq!(
        pages,
        [
            ("Organization", 1),
            ("Organization", 2),
            ("Person", 1),
            ("Person", 2),
            ("Person", 3)
        ]
    );
    for request in &received {
        assert_eq!(request.query["version"], "1.3");
        assert_eq!(request.form["auth_user"], USER);
        assert_eq!(request.form["auth_pwd"], PASSWORD);
        let name = match request.class.as_str() {
            "Organization" => format!("organizations.page{}", request.page),
            _ => format!("persons.page{}", request.page),
        };
        assert_eq!(
            request.form["json_data"],
            recorded_json_data(&name),
            "the request recorded as {name}"
        );
    }
    assert_eq!(
        *told.0.lock().unwrap(),
        [
            ("organizations", 5, Some(7)),
            ("organizations", 7, Some(7)),
            ("contacts", 5, Some(13)),
            ("contacts", 10, Some(13)),
            ("contacts", 13, Some(13)),
        ]
    );
}

#[tokio::test]
async fn a_person_deleted_in_itop_is_missing_from_the_next_snapshot() {
    let persons = Arc::new(Mutex::new("persons"));
    let itop = FakeItop::recorded(persons.clone()).await;
    let source = ItopSource::new(&itop.config()).unwrap();
    let before = source.pull(&Told::default()).await.unwrap();
    *persons.lock().unwrap() = "persons_after_delete";
    let after = source.pull(&Told::default()).await.unwrap();

    assert_eq!(after.organizations, before.organizations);
    let remaining: Vec<SourceContact> = before
        .contacts
        .iter()
        .filter(|c| c.source_id != "9")
        .cloned()
        .collect();
    assert_eq!(before.contacts.len(), 13);
    assert_eq!(contact(&before, "9").last_name, "Chen");
    assert_eq!(
        after.contacts, remaining,
        "everyone but Emily Chen, unchanged"
    );
}

#[tokio::test]
async fn an_itop_that_ignores_paging_is_read_once() {
    // iTop before 2.5.2 ignores `limit` and `page`: every page is the whole class.
    let itop = FakeItop::with_persons(|_| recorded("persons.unpaged")).await;
    let snapshot = pull(&itop.config()).await.unwrap();
    assert_eq!(snapshot.contacts.len(), 13);
    let person_requests = itop
        .received()
        .iter()
        .filter(|r| r.class == "Person")
        .count();
    assert_eq!(
        person_requests, 1,
        "13 persons asked 5 at a time: the first reply was all"
    );
}

#[tokio::test]
async fn an_itop_that_repeats_a_page_fails_the_pull_instead_of_looping() {
    // Honours `limit`, ignores `page`: page 2 repeats page 1, and 5 of 13 persons is no snapshot.
    let itop = FakeItop::with_persons(|_| recorded("persons.page1")).await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("iTop counted 13 contacts but sent 5"),
        "{reason}"
    );
    let person_pages: Vec<u64> = itop
        .received()
        .iter()
        .filter(|r| r.class == "Person")
        .map(|r| r.page)
        .collect();
    assert_eq!(person_pages, [1, 2]);
}

#[tokio::test]
async fn a_page_that_repeats_records_next_to_new_ones_fails_the_pull() {
    // Page 2 holds page 1's five persons again among others: the order moved under the paging.
    let itop = FakeItop::with_persons(|page| match page {
        1 => recorded("persons.page1"),
        _ => recorded("persons.unpaged"),
    })
    .await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.starts_with("page 2 of the contacts repeated records of an earlier page"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_total_that_changes_between_pages_fails_the_pull() {
    // Page 1 and 2 from before Emily Chen's deletion, page 3 from after it.
    let itop = FakeItop::with_persons(|page| match page {
        3 => recorded("persons_after_delete.page3"),
        _ => recorded(&format!("persons.page{page}")),
    })
    .await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("contacts changed while they were read (iTop counted 13, then 12)"),
        "{reason}"
    );
}

#[tokio::test]
async fn refused_credentials_are_named_without_the_password() {
    let itop = FakeItop::always(StatusCode::OK, recorded("wrong_password")).await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("iTop refused user \"switchdesk\" (Invalid login)"),
        "{reason}"
    );
    assert_eq!(itop.received().len(), 1, "no page after a refusal");

    let itop = FakeItop::always(StatusCode::OK, recorded("no_rest_profile")).await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("The profile REST Services User is required"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_oql_error_names_the_query_and_itops_reason() {
    let itop = FakeItop::with_persons(|_| recorded("oql_error")).await;
    let config = ItopConfig {
        persons: "SELECT Person WHERE statuss = 'active'".into(),
        ..itop.config()
    };
    let reason = source_reason(pull(&config).await);
    assert!(
        reason.starts_with(
            "iTop could not run the contacts query \"SELECT Person WHERE statuss = 'active'\""
        ),
        "{reason}"
    );
    assert!(
        reason.contains("Unknown filter code - found 'statuss'"),
        "{reason}"
    );
    let sent = itop.received().last().unwrap().form["json_data"].clone();
    assert_eq!(sent, recorded_json_data("oql_error"));
}

#[tokio::test]
async fn an_unknown_class_is_reported_with_itops_suggestion_not_its_class_list() {
    let itop = FakeItop::with_persons(|_| recorded("oql_unknown_class")).await;
    let config = ItopConfig {
        persons: "SELECT Persn".into(),
        ..itop.config()
    };
    let reason = source_reason(pull(&config).await);
    assert!(reason.contains("Unknown class - found 'Persn'"), "{reason}");
    assert!(
        reason.ends_with("I would suggest to use 'Person')"),
        "{reason}"
    );
    assert!(reason.contains(" [...] "), "{reason}");
    assert!(reason.len() < 700, "{} bytes: {reason}", reason.len());
}

#[tokio::test]
async fn a_query_on_the_wrong_class_is_refused() {
    // iTop answers `SELECT Organization` asked as class Person with Organization objects.
    let itop = FakeItop::with_persons(|_| recorded("organizations.page1")).await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("returned Organization objects without first_name; it must select Person"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_reply_that_is_not_itops_json_shows_its_first_bytes() {
    // Not recorded: what a proxy or a misconfigured URL answers instead of iTop.
    let itop = FakeItop::always(
        StatusCode::OK,
        b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>".to_vec(),
    )
    .await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("/itop/webservices/rest.php?version=1.3 did not answer with iTop's JSON"),
        "{reason}"
    );
    assert!(
        reason.contains("the reply begins: \"<!DOCTYPE html> <html><head><title>Sign in"),
        "{reason}"
    );

    let itop = FakeItop::always(StatusCode::BAD_GATEWAY, b"upstream iTop is down".to_vec()).await;
    let reason = source_reason(pull(&itop.config()).await);
    assert!(
        reason.contains("answered HTTP 502 Bad Gateway: \"upstream iTop is down\""),
        "{reason}"
    );
}

#[tokio::test]
async fn an_unreachable_itop_is_named_by_its_url() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let config = ItopConfig {
        url: format!("http://{address}/itop"),
        user: USER.into(),
        password: Secret::new(PASSWORD),
        ..ItopConfig::default()
    };
    let reason = source_reason(pull(&config).await);
    assert!(
        reason.starts_with(&format!(
            "cannot reach http://{address}/itop/webservices/rest.php?version=1.3"
        )),
        "{reason}"
    );
}

/// The whole path, as `switchdesk phonebook sync` and `serve` take it: iTop's recorded replies
/// through `sync::run` into a store. Numbers iTop keeps in any written form are stored in E.164,
/// persons are linked to their organizations by iTop's key, the one number that is none is
/// refused with its person, and the person deleted in iTop is removed softly on the next run.
#[tokio::test]
async fn a_sync_stores_itop_and_removes_softly_what_itop_deleted() {
    use switchdesk::directory::model::{Contact, Organization};
    use switchdesk::directory::number::Numbering;
    use switchdesk::directory::sync::{run, SyncConfig};
    use switchdesk::store::Store;

    let persons = Arc::new(Mutex::new("persons"));
    let itop = FakeItop::recorded(persons.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("book.db").display());
    let store = Store::connect(&url, 2).await.unwrap();
    let config = SyncConfig {
        interval_minutes: 0,
        itop: Some(itop.config()),
        ldap: None,
    };
    let numbering = Numbering::with_regions(Some("RU"), &["GB", "US"]).unwrap();
    let quiet = |_| Box::new(Told::default()) as Box<dyn Progress>;

    let outcomes = run(&config, &store, &numbering, None, &quiet).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let report = outcomes[0].result.as_ref().unwrap();
    assert_eq!(report.contacts.created, 13, "{}", report.summary());
    assert_eq!(report.organizations.created, 7, "{}", report.summary());
    assert_eq!(report.refused_count, 1, "{:?}", report.refused);
    // Ofcom's range for drama is no number in any of the regions: refused, not rewritten.
    let refusal = &report.refused[0];
    assert_eq!(refusal.external_id, "itop:person:6");
    assert_eq!(refusal.name, "James Whitfield");
    assert_eq!(
        refusal.reason,
        "phones: \"07700 900123\" is not a valid number for RU, GB, US"
    );

    let petrov: Contact = store
        .record_by_external_id("itop:person:2")
        .await
        .unwrap()
        .expect("Иван Петров is stored");
    let numbers: Vec<&str> = petrov.numbers.iter().map(|n| n.number.as_str()).collect();
    assert_eq!(numbers, ["+74951234567", "+79165551234"], "{petrov:?}");
    let romashka: Organization = store
        .record_by_external_id("itop:organization:2")
        .await
        .unwrap()
        .expect("ООО «Ромашка» is stored");
    assert_eq!(petrov.organization_id, Some(romashka.id));
    let whitfield: Contact = store
        .record_by_external_id("itop:person:6")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        whitfield.numbers[0].number, "+442014472960",
        "{whitfield:?}"
    );
    // A short number is an internal extension, marked so; a national number is read in the
    // default region first.
    let chen: Contact = store
        .record_by_external_id("itop:person:9")
        .await
        .unwrap()
        .unwrap();
    let numbers: Vec<(&str, NumberKind)> = chen
        .numbers
        .iter()
        .map(|n| (n.number.as_str(), n.kind))
        .collect();
    assert_eq!(
        numbers,
        [
            ("12345", NumberKind::Extension),
            ("+79175550199", NumberKind::Mobile)
        ]
    );
    assert_eq!(chen.removed_at, None);

    *persons.lock().unwrap() = "persons_after_delete";
    let outcomes = run(&config, &store, &numbering, None, &quiet).await;
    let report = outcomes[0].result.as_ref().unwrap();
    assert_eq!(
        (
            report.contacts.removed,
            report.contacts.unchanged,
            report.contacts.created
        ),
        (1, 12, 0),
        "{}",
        report.summary()
    );
    let chen: Contact = store
        .record_by_external_id("itop:person:9")
        .await
        .unwrap()
        .expect("kept, marked removed");
    assert!(chen.removed_at.is_some(), "{chen:?}");
}
