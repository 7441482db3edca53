//! CDR ingest over HTTP, on SQLite and PostgreSQL: the captured mod_xml_cdr POSTs are stored
//! with their real values, legs are linked into calls and filed into tickets, a CDR posted
//! again changes nothing, bad credentials and hostile bodies are refused, the log directory
//! backfills, and the profitability report adds it all up.

mod captures;
#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;

use common::{TestDb, TestDbRef};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use switchdesk::cdr::{CallKind, Outcome};
use switchdesk::config::{Config, Secret};
use switchdesk::directory::model::{Contact, Number, NumberKind, Organization};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::store::{CallFilter, Store, TicketFilter};
use switchdesk::tickets::{Status, TicketKind};
use switchdesk::users::{self, Role};
use switchdesk::web::{self};

const CDR_USER: &str = "freeswitch";
const CDR_PASSWORD: &str = "cdr-secret-for-tests";

/// The caller of capture 02 and the leg it was bridged to.
const CALLER: &str = "02bbee13-3a02-4f46-982e-d4f4cf6e771a";
const AGENT: &str = "9a8b25a2-ee22-44b7-9a88-33801a5d0b8d";
/// The fax receiver of capture 07.
const FAX: &str = "4ab15041-a966-49fa-b660-fe31b8c2f6be";
/// The sending leg of the same fax (loopback leg A, `txfax`).
const FAX_SENDER: &str = "f20f7809-187d-459c-8a64-f0c9c9e877ce";

fn fixtures() -> PathBuf {
    captures::freeswitch().join("cdr")
}

/// A captured log-directory document with switchdesk's own variables added, as the
/// switchboard and the dialplan set them on the legs it drives.
fn logdir_with(file: &str, extra: &[(&str, &str)]) -> String {
    let xml = std::fs::read_to_string(fixtures().join("logdir").join(file)).unwrap();
    let vars: String = extra
        .iter()
        .map(|(k, v)| format!("<{k}>{v}</{k}>"))
        .collect();
    xml.replacen("<variables>", &format!("<variables>{vars}"), 1)
}

const CALLER_FILE: &str = "02_call_caller_aleg__a_02bbee13-3a02-4f46-982e-d4f4cf6e771a.cdr.xml";
const AGENT_FILE: &str = "02_call_agent_bleg__9a8b25a2-ee22-44b7-9a88-33801a5d0b8d.cdr.xml";

struct App {
    base: String,
    client: Client,
    store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl App {
    async fn start(store: &Store) -> App {
        App::start_with(store, |_| {}).await
    }

    async fn start_with(store: &Store, adjust: impl FnOnce(&mut Config)) -> App {
        let mut config = Config::default();
        config.cdr.username = CDR_USER.into();
        config.cdr.password = Secret::new(CDR_PASSWORD);
        config.cdr.max_body_bytes = 256 * 1024;
        adjust(&mut config);
        let phonebook = Arc::new(
            PhoneBook::load(store, Numbering::new("US").unwrap())
                .await
                .unwrap(),
        );
        let state = switchdesk::service::state_without_switch(config, store, phonebook)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        App {
            base,
            client: Client::new(),
            store: store.clone(),
            stop: Some(stop),
        }
    }

    async fn post_cdr(&self, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/api/cdr?uuid=x", self.base))
            .basic_auth(CDR_USER, Some(CDR_PASSWORD))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_captured(&self, name: &str) -> (StatusCode, Value) {
        let (content_type, body) = captures::cdr_post(name);
        self.post_cdr(&content_type, body).await
    }

    async fn post_xml(&self, xml: String) -> (StatusCode, Value) {
        self.post_cdr("text/xml", xml.into_bytes()).await
    }

    async fn session(&self, name: &str, role: Role) -> String {
        users::add_user(&self.store, name, role, "long-enough-password")
            .await
            .unwrap();
        let response = self
            .client
            .post(format!("{}/api/login", self.base))
            .json(&serde_json::json!({"name": name, "password": "long-enough-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        cookie.split(';').next().unwrap().to_owned()
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    let filter = TicketFilter {
        limit: Some(1000),
        ..TicketFilter::default()
    };
    match table {
        "tickets" => store.tickets(&filter).await.unwrap().len() as i64,
        "calls" => store
            .calls(&CallFilter {
                limit: Some(1000),
                ..CallFilter::default()
            })
            .await
            .unwrap()
            .len() as i64,
        "legs" => store.count_cdr_legs().await.unwrap(),
        other => panic!("no count for {other}"),
    }
}

/// Every captured POST is accepted; the normal call, the abandon and the fax keep their real
/// times, numbers and causes.
async fn captured_posts_are_stored_with_their_real_values(db: TestDbRef) {
    let app = App::start(&db.store).await;
    let posts: Vec<String> = std::fs::read_dir(fixtures().join("http"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            name.strip_suffix(".http").map(str::to_owned)
        })
        .collect();
    assert_eq!(posts.len(), 22);
    for name in &posts {
        let (status, body) = app.post_captured(name).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    assert_eq!(count(&db.store, "legs").await, 22);

    let call = db
        .store
        .call(CALLER)
        .await
        .unwrap()
        .expect("the caller's call");
    assert_eq!(call.caller_number, "+15550001");
    // sipp's caller `+15550001` is no valid number anywhere: kept as received, never read
    // as E.164.
    assert_eq!(call.caller_e164, None);
    assert_eq!(call.destination, "7000");
    assert_eq!(call.hangup_cause, "NORMAL_CLEARING");
    assert_eq!(call.started_at, 1_795_314_248_897);
    assert_eq!(call.ended_at, 1_795_314_260_937);
    // Bridged 2.7 s after arrival, then 9.34 s of talk (bridge_uepoch to end_uepoch).
    assert_eq!(call.answered_at, Some(1_795_314_251_597));
    assert_eq!((call.wait_secs, call.talk_secs), (2, 9));
    assert_eq!(call.outcome, Outcome::Answered);
    // The lab dialplan did not go through switchdesk's queues: a direct call, no ticket.
    assert_eq!(call.kind, CallKind::Direct);
    assert_eq!(call.ticket_id, None);

    let fax = db.store.call(FAX).await.unwrap().expect("the fax call");
    assert_eq!(fax.kind, CallKind::Fax);
    assert_eq!(fax.outcome, Outcome::Fax);
    // The sending side of the same fax (loopback leg A ran txfax) is no received fax: no fax
    // call, no second fax ticket.
    let sender = db.store.call(FAX_SENDER).await.unwrap();
    assert!(
        sender.as_ref().is_none_or(|c| c.kind != CallKind::Fax),
        "{sender:?}"
    );
    let tickets = db
        .store
        .tickets(&TicketFilter {
            limit: Some(100),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        tickets.iter().filter(|t| t.kind == TicketKind::Fax).count(),
        1,
        "{tickets:?}"
    );
    let ticket = db
        .store
        .ticket(fax.ticket_id.expect("a fax ticket"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.kind, TicketKind::Fax);
    assert!(ticket.unidentified, "nobody in the book sent it");
    assert_eq!(
        ticket.caller_number,
        fax.caller_e164.clone().unwrap_or(fax.caller_number.clone())
    );

    // The document is kept exactly as FreeSWITCH wrote it (the form body decoded once).
    let kept = db.store.cdr_document(AGENT).await.unwrap().unwrap();
    assert!(kept.contains("<bridge_uuid>02bbee13-3a02-4f46-982e-d4f4cf6e771a</bridge_uuid>"));
}

/// "Post the same CDR five times → one call, one ticket."
async fn the_same_cdr_five_times_is_one_call_and_one_ticket(db: TestDbRef) {
    let app = App::start(&db.store).await;
    let mut duplicates = 0;
    for _ in 0..5 {
        let (status, body) = app.post_captured("post_009_07_fax_rx_loopback_b").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        duplicates += usize::from(body["duplicate"] == Value::Bool(true));
    }
    assert_eq!(duplicates, 4);
    assert_eq!(count(&db.store, "legs").await, 1);
    assert_eq!(count(&db.store, "calls").await, 1);
    assert_eq!(count(&db.store, "tickets").await, 1);
}

/// A queue call's two legs, in either order, make one call with one ticket, one time entry at
/// the agent's rate, and a repeat call from the same contact joins that ticket.
async fn legs_link_into_a_call_filed_under_the_callers_ticket(db: TestDbRef) {
    let org = db
        .store
        .save_record(&Organization {
            name: "Acme Ltd".into(),
            ..Organization::default()
        })
        .await
        .unwrap();
    let contact = db
        .store
        .save_record(&Contact {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            organization_id: Some(org),
            numbers: vec![Number {
                number: "+15550001".into(),
                kind: NumberKind::Mobile,
            }],
            ..Contact::default()
        })
        .await
        .unwrap();
    db.store.set_agent_rate("alice", 3_600).await.unwrap();
    db.store.set_organization_fee(org, 100_000).await.unwrap();
    let app = App::start(&db.store).await;
    let caller = |uuid_suffix: &str| {
        let xml = logdir_with(
            CALLER_FILE,
            &[
                ("switchdesk_queue", "support"),
                ("switchdesk_enqueued_at", "1795314249000"),
                ("switchdesk_identified", "exact"),
                ("switchdesk_contact_id", &contact.to_string()),
                ("switchdesk_organization_id", &org.to_string()),
            ],
        );
        xml.replace(CALLER, &format!("{CALLER}{uuid_suffix}"))
    };
    let agent = |uuid_suffix: &str| {
        let xml = logdir_with(
            AGENT_FILE,
            &[
                ("switchdesk_leg", "agent"),
                ("switchdesk_agent", "alice"),
                ("switchdesk_queue_name", "support"),
                ("switchdesk_caller_uuid", CALLER),
            ],
        );
        xml.replace(AGENT, &format!("{AGENT}{uuid_suffix}"))
            .replace(CALLER, &format!("{CALLER}{uuid_suffix}"))
    };
    // First call: the agent leg arrives first (nothing to file yet), then the caller.
    let (status, body) = app.post_xml(agent("")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ticket"], Value::Null, "no call before the caller leg");
    let (status, body) = app.post_xml(caller("")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ticket_id = body["ticket"].as_i64().expect("a ticket");
    // Second call from the same contact: caller first, then agent.
    let (_, second) = app.post_xml(caller("-2")).await;
    assert_eq!(
        second["ticket"].as_i64(),
        Some(ticket_id),
        "threaded into the open ticket"
    );
    let (status, body) = app.post_xml(agent("-2")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ticket"].as_i64(), Some(ticket_id));

    let call = db.store.call(CALLER).await.unwrap().unwrap();
    assert_eq!(call.kind, CallKind::Queue);
    assert_eq!(call.outcome, Outcome::Answered);
    assert_eq!(call.agent.as_deref(), Some("alice"));
    assert_eq!(call.queue.as_deref(), Some("support"));
    assert_eq!(call.contact_id, Some(contact));
    assert_eq!(call.talk_secs, 9);
    let ticket = db.store.ticket(ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.kind, TicketKind::Call);
    assert_eq!(ticket.status, Status::Open);
    assert_eq!(ticket.organization_id, Some(org));
    assert_eq!(ticket.first_response_at, call.answered_at);
    // Created when the caller called, answered (first response) after that, by alice.
    assert_eq!(ticket.created_at, call.started_at);
    assert!(ticket.first_response_at >= Some(ticket.created_at));
    assert_eq!(ticket.assignee.as_deref(), Some("alice"));
    let entries = db.store.time_entries(ticket_id).await.unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.agent == "alice"
        && e.seconds == 9
        && e.hourly_rate_cents == 3_600
        && e.cost_cents == 9
        && e.queue.as_deref() == Some("support")));
    assert_eq!(count(&db.store, "tickets").await, 1);

    // The manager's view: the ticket with its calls, and the report for November 2026.
    let manager = app.session("mona", Role::Manager).await;
    let (status, view) = app
        .get(&format!("/api/tickets/{ticket_id}"), &manager)
        .await;
    assert_eq!(status, StatusCode::OK);
    let view: Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["calls"].as_array().unwrap().len(), 2);
    assert_eq!(view["organization"]["name"], "Acme Ltd");
    assert_eq!(view["talk_secs"], 18);
    let (status, report) = app
        .get(
            "/api/reports/profitability?from=2026-11-01&to=2026-12-01",
            &manager,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    let acme = &report["organizations"][0];
    assert_eq!(acme["organization"], "Acme Ltd");
    assert_eq!(acme["calls"], 2);
    assert_eq!(acme["cost_cents"], 18);
    // November has 30 days: the fee is prorated from an average month.
    let fee = acme["fee_cents"].as_i64().unwrap();
    assert!((98_000..=99_000).contains(&fee), "{fee}");
    assert_eq!(acme["margin_cents"].as_i64().unwrap(), fee - 18);
    // A span whose length would overflow is refused with its reason, not a 500.
    for span in [
        "from=-9223372036854775808&to=9223372036854775807",
        "from=0&to=9223372036854775807",
    ] {
        let (status, body) = app
            .get(&format!("/api/reports/profitability?{span}"), &manager)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{span}: {body}");
        assert!(body.contains("1970 to 9999"), "{body}");
    }
    let (_, csv) = app
        .get(
            "/api/reports/profitability?from=2026-11-01&to=2026-12-01&format=csv",
            &manager,
        )
        .await;
    // A byte order mark, then every field quoted (see `spreadsheet`).
    assert!(
        csv.starts_with("\u{feff}\"organization_id\",\"organization\",\"calls\""),
        "{csv}"
    );
    assert!(
        csv.contains(",\"Acme Ltd\",\"2\",\"2\",\"0.01\",\"0.18\","),
        "{csv}"
    );
    // For a spreadsheet of a decimal-comma locale: `;` between cells and decimal commas.
    let (_, semicolons) = app
        .get(
            "/api/reports/profitability?from=2026-11-01&to=2026-12-01&format=csv&separator=semicolon",
            &manager,
        )
        .await;
    assert!(
        semicolons.contains(";\"Acme Ltd\";\"2\";\"2\";\"0,01\";\"0,18\";"),
        "{semicolons}"
    );
    // Filters: by agent and organization find it; another agent does not.
    let (_, by_agent) = app.get("/api/tickets?agent=alice", &manager).await;
    assert_eq!(
        serde_json::from_str::<Value>(&by_agent)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, other) = app.get("/api/tickets?agent=bob", &manager).await;
    assert_eq!(
        serde_json::from_str::<Value>(&other)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, by_org) = app
        .get(
            &format!("/api/tickets?organization_id={org}&status=open"),
            &manager,
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&by_org)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// The ticket the captured abandoned call's CDR opens, posted as a queue caller nobody knows.
async fn abandoned_callers_ticket(app: &App, store: &Store) -> switchdesk::tickets::Ticket {
    let abandoned = logdir_with(
        "03_abandon_caller__a_cfa37939-52aa-4338-b770-644c9a98c31c.cdr.xml",
        &[
            ("switchdesk_queue", "support"),
            ("switchdesk_enqueued_at", "1795314300000"),
            ("switchdesk_identified", "unknown"),
        ],
    );
    let (status, body) = app.post_xml(abandoned).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    store
        .ticket(body["ticket"].as_i64().expect("a callback ticket"))
        .await
        .unwrap()
        .unwrap()
}

/// A Russian deployment (`[service] language = "ru"`): the ticket an abandoned call's CDR
/// opens is titled in Russian.
async fn a_russian_deployment_titles_the_callback_ticket_in_russian(db: TestDbRef) {
    let app = App::start_with(&db.store, |config| {
        config.service.language = switchdesk::texts::Language::Ru;
    })
    .await;
    let ticket = abandoned_callers_ticket(&app, &db.store).await;
    assert_eq!(ticket.kind, TicketKind::Callback);
    assert_eq!(
        ticket.subject,
        format!(
            "Пропущенный звонок от Caller 1 ({}) — support: перезвонить",
            ticket.caller_number
        )
    );
}

/// An abandoned queue caller nobody knows: a callback ticket at priority 1, marked
/// unidentified with the number; a refused (never queued) caller gets none.
async fn an_abandoned_unknown_caller_gets_a_callback_ticket(db: TestDbRef) {
    let app = App::start(&db.store).await;
    let ticket = abandoned_callers_ticket(&app, &db.store).await;
    assert_eq!(ticket.kind, TicketKind::Callback);
    assert_eq!(ticket.priority, 1);
    assert_eq!(ticket.status, Status::New);
    assert!(ticket.unidentified);
    assert!(
        ticket.caller_number.starts_with('+'),
        "{}",
        ticket.caller_number
    );
    assert!(ticket.subject.contains("call back"), "{}", ticket.subject);
    assert!(ticket.first_response_due.unwrap() < ticket.resolution_due.unwrap());

    let refused = logdir_with(
        "03_abandon_caller__a_cfa37939-52aa-4338-b770-644c9a98c31c.cdr.xml",
        &[("switchdesk_queue", "support")],
    )
    .replace("cfa37939", "cfa37940");
    let (status, body) = app.post_xml(refused).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ticket"], Value::Null);
    assert_eq!(count(&db.store, "tickets").await, 1);
}

/// Wrong or missing credentials, a hostile document, an oversized body and garbage are
/// refused with a clear error, and store nothing.
async fn bad_posts_are_refused_and_store_nothing(db: TestDbRef) {
    let app = App::start(&db.store).await;
    let (content_type, body) = captures::cdr_post("post_001_02_call_caller_aleg");
    let url = format!("{}/api/cdr", app.base);
    let wrong = app
        .client
        .post(&url)
        .basic_auth(CDR_USER, Some("wrong"))
        .header(CONTENT_TYPE, &content_type)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let missing = app
        .client
        .post(&url)
        .header(CONTENT_TYPE, &content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(missing.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    // The credentials are checked before the body is read: the 401 comes while most of the
    // announced body has not even been sent.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
            .await
            .unwrap();
        stream
            .write_all(b"POST /api/cdr HTTP/1.1\r\nHost: switchdesk\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<cdr>")
            .await
            .unwrap();
        let mut answer = vec![0; 1024];
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
                .await
                .expect("an answer without the rest of the body")
                .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }

    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE cdr [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]><cdr><variables><uuid>&b;</uuid></variables></cdr>";
    let (status, body) = app.post_xml(bomb.to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("DOCTYPE"),
        "{body}"
    );
    let (status, _) = app
        .post_xml("<cdr><variables><uuid>x</uuid>".to_owned())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .post_cdr("application/x-www-form-urlencoded", b"cdr=%ZZ".to_vec())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.post_xml("x".repeat(300 * 1024)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count(&db.store, "legs").await, 0);
}

/// The CDR writer on `store`, as `switchdesk cdr import` starts it.
fn ingest_on(store: &Store) -> switchdesk::cdr::CdrIngest {
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let (events, _) = tokio::sync::broadcast::channel(8);
    switchdesk::service::start_cdr_ingest(&Config::default(), store, phonebook, events, None, None)
}

/// The CDR writer with a fax desk reading faxes from `spool`, as the service and
/// `switchdesk cdr import` start it.
fn ingest_with_faxes(store: &Store, spool: &Path) -> switchdesk::cdr::CdrIngest {
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let (events, _) = tokio::sync::broadcast::channel(8);
    let mut config = Config::default();
    config.fax.spool_dir = spool.to_path_buf();
    config.fax.default_to = vec!["desk@example.com".into()];
    let desk = switchdesk::fax::FaxDesk::new(
        store.clone(),
        phonebook.clone(),
        config.fax.clone(),
        switchdesk::mail::Outbox::new(),
    );
    switchdesk::service::start_cdr_ingest(&config, store, phonebook, events, None, Some(desk))
}

/// `switchdesk cdr import DIR`'s work.
async fn backfill(
    ingest: &switchdesk::cdr::CdrIngest,
    dir: &Path,
) -> switchdesk::cdr::backfill::BackfillReport {
    switchdesk::cdr::backfill::backfill(ingest, dir, |_, _| {})
        .await
        .unwrap()
}

/// `switchdesk cdr import`'s work: the log directory's files are ingested (twice: nothing
/// new), and an unreadable file is moved aside and reported.
async fn the_log_directory_backfills_and_bad_files_move_aside(db: TestDbRef) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join("logdir")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("a_broken.cdr.xml"), "<cdr><variables>").unwrap();
    let app = App::start(&db.store).await;
    let ingest = ingest_on(&db.store);
    let report = backfill(&ingest, dir.path()).await;
    assert_eq!(report.stored, 4);
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].1.contains("moved to"),
        "{:?}",
        report.failed
    );
    assert!(dir.path().join("failed/a_broken.cdr.xml").exists());
    assert!(!dir.path().join("a_broken.cdr.xml").exists());
    let again = backfill(&ingest, dir.path()).await;
    assert_eq!(
        (again.stored, again.duplicates, again.failed.len()),
        (0, 4, 0)
    );
    // A POST of a leg the backfill stored is a duplicate too.
    let (_, body) = app.post_captured("post_001_02_call_caller_aleg").await;
    assert_eq!(body["duplicate"], Value::Bool(true));
    assert_eq!(count(&db.store, "legs").await, 4);
}

/// mod_xml_cdr's `err-log-dir` holds the body of each POST that failed, as it was encoded
/// (`mod_xml_cdr.c` writes the encoded text): with `encode=true` the percent-encoded XML
/// without the `cdr=` name, with `encode=base64` base64. `cdr import` reads both, and a
/// failed import leaves nothing in `failed/`.
async fn err_log_dir_files_are_read_in_every_encoding(db: TestDbRef) {
    let dir = tempfile::tempdir().unwrap();
    let (_, body) = captures::cdr_post("post_001_02_call_caller_aleg");
    let encoded = body.strip_prefix(b"cdr=").unwrap();
    std::fs::write(
        dir.path()
            .join("a_02bbee13-3a02-4f46-982e-d4f4cf6e771a.cdr.xml"),
        encoded,
    )
    .unwrap();
    let (_, body) = captures::cdr_post("post_002_02_call_agent_bleg");
    let xml = switchdesk::cdr::parse::cdr_from_form(&body).unwrap();
    let base64 = base64::engine::general_purpose::STANDARD.encode(&xml);
    std::fs::write(
        dir.path()
            .join("9a8b25a2-ee22-44b7-9a88-33801a5d0b8d.cdr.xml"),
        base64,
    )
    .unwrap();
    std::fs::write(dir.path().join("a_noise.cdr.xml"), "%%not a cdr").unwrap();
    let ingest = ingest_on(&db.store);
    let report = backfill(&ingest, dir.path()).await;
    assert_eq!(report.stored, 2, "{:?}", report.failed);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert!(
        report.failed[0].1.contains("not a CDR"),
        "{:?}",
        report.failed
    );
    assert_eq!(count(&db.store, "legs").await, 2);
    // Each leg keeps the decoded document, byte for byte what the switch meant to post.
    let caller = db
        .store
        .cdr_document("02bbee13-3a02-4f46-982e-d4f4cf6e771a")
        .await
        .unwrap()
        .unwrap();
    let (_, body) = captures::cdr_post("post_001_02_call_caller_aleg");
    let posted = switchdesk::cdr::parse::cdr_from_form(&body).unwrap();
    assert_eq!(caller.as_bytes(), posted.as_slice());
    let agent = db
        .store
        .cdr_document("9a8b25a2-ee22-44b7-9a88-33801a5d0b8d")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agent.as_bytes(), xml.as_slice());
}

/// The service was down while a fax came in: neither the event nor the POST reached it, and
/// mod_xml_cdr left the CDR on disk. `cdr import` records the fax from that CDR and queues its
/// mail with the PDF, as the POST would have; importing again mails nothing twice.
async fn a_backfill_after_an_outage_records_and_mails_the_faxes_in_it(db: TestDbRef) {
    let spool = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("../fax/rx.tif"),
        spool.path().join("rx.tif"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let xml = std::fs::read_to_string(fixtures().join("logdir").join(FAX_FILE))
        .unwrap()
        .replace(
            "/tmp/fax/rx.tif",
            &spool.path().join("rx.tif").display().to_string(),
        );
    std::fs::write(dir.path().join(FAX_FILE), xml).unwrap();
    let ingest = ingest_with_faxes(&db.store, spool.path());
    let report = backfill(&ingest, dir.path()).await;
    assert_eq!(
        (report.stored, report.failed.len()),
        (1, 0),
        "{:?}",
        report.failed
    );
    let fax = db
        .store
        .fax_of_call(FAX)
        .await
        .unwrap()
        .expect("the fax is recorded");
    assert!(fax.success, "{fax:?}");
    let pdf = fax.pdf_file_id.expect("its PDF is kept");
    let mails = db.store.outbox(None, None, 10).await.unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].attachment_file_id, Some(pdf));
    assert_eq!(mails[0].recipients, ["desk@example.com"]);

    let again = backfill(&ingest, dir.path()).await;
    assert_eq!((again.stored, again.duplicates), (0, 1));
    assert_eq!(db.store.outbox(None, None, 10).await.unwrap().len(), 1);
}

/// A NUL character cannot be stored (PostgreSQL refuses it in text and JSON), so a CDR holding
/// one, however written, is refused with 400 as a broken document, never a 503 that would
/// have mod_xml_cdr send it again and again; nothing is stored, and `cdr import` moves such a
/// file aside with the others it cannot read.
async fn a_cdr_holding_a_nul_is_refused_and_stores_nothing(db: TestDbRef) {
    let app = App::start(&db.store).await;
    let poisoned = [
        logdir_with(CALLER_FILE, &[("sip_h_X_Note", "a%00b")]),
        logdir_with(CALLER_FILE, &[("sip_h_X_Note", "a\0b")]),
        logdir_with(CALLER_FILE, &[("sip_h_X_Note", "a&#0;b")]),
    ];
    for xml in &poisoned {
        let (status, body) = app.post_xml(xml.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    // The form mod_xml_cdr posts: a raw NUL arrives as %00, one in a variable as %2500.
    for form in [
        "cdr=%3Ccdr%3E%00%3C%2Fcdr%3E",
        "cdr=%3Ccdr%3E%3Cvariables%3E%3Cuuid%3Eu%2500%3C%2Fuuid%3E%3C%2Fvariables%3E%3C%2Fcdr%3E",
    ] {
        let (status, body) = app
            .post_cdr(
                "application/x-www-form-urlencoded",
                form.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error"].as_str().unwrap().contains("NUL"), "{body}");
    }
    assert_eq!(count(&db.store, "legs").await, 0);
    assert_eq!(count(&db.store, "calls").await, 0);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a_poisoned.cdr.xml"), &poisoned[0]).unwrap();
    let ingest = ingest_on(&db.store);
    let report = backfill(&ingest, dir.path()).await;
    assert_eq!((report.stored, report.failed.len()), (0, 1));
    assert!(report.failed[0].1.contains("NUL"), "{:?}", report.failed);
    assert!(dir.path().join("failed/a_poisoned.cdr.xml").exists());
    assert_eq!(count(&db.store, "legs").await, 0);

    // The same document without the NUL is stored.
    let (status, body) = app.post_xml(logdir_with(CALLER_FILE, &[])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(count(&db.store, "legs").await, 1);
}

/// When the database fails, mod_xml_cdr gets a 503 to retry on, and an error id: never the
/// database's or the driver's words (table names, SQL, "no such table", "relation").
async fn a_database_failure_is_a_503_without_the_databases_words(db: TestDbRef) {
    let app = App::start(&db.store).await;
    db.drop_table("cdr_legs").await;
    let (status, body) = app.post_xml(logdir_with(CALLER_FILE, &[])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let text = body.to_string();
    for leak in [
        "cdr_legs",
        "no such table",
        "relation",
        "database error",
        "SELECT",
        "INSERT",
        "sqlx",
    ] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("retry later (error "),
        "{body}"
    );
}

const FAX_FILE: &str = "07_fax_rx__a_4ab15041-a966-49fa-b660-fe31b8c2f6be.cdr.xml";

/// Someone with the CDR credential posts fax CDRs whose rxfax `app_data` names files that are
/// not a fax FreeSWITCH wrote into the spool: a system file, escapes out of the spool (`..`,
/// a link, a linked directory), a FIFO, a directory, an oversize file and a non-TIFF inside
/// the spool. Each fax is recorded with the refusal and mailed without a document; no file
/// is stored, no mail attaches or quotes one. A real TIFF in the spool still gives its PDF.
async fn a_fax_cdr_cannot_make_switchdesk_store_or_mail_another_file(db: TestDbRef) {
    let root = tempfile::tempdir().unwrap();
    let spool = root.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    // Starts like a TIFF, but lies outside the spool.
    std::fs::write(root.path().join("secret.tif"), b"II*\0SECRET-OUTSIDE").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", spool.join("link.tif")).unwrap();
    std::os::unix::fs::symlink(root.path(), spool.join("sub")).unwrap();
    let fifo = spool.join("fifo.tif");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    std::fs::create_dir(spool.join("dir.tif")).unwrap();
    let mut big = b"II*\0".to_vec();
    big.resize(4096, 0);
    std::fs::write(spool.join("big.tif"), big).unwrap();
    std::fs::write(spool.join("notes.tif"), b"root:x:0:0:SECRET-INSIDE\n").unwrap();
    let real = spool.join("rx.tif");
    std::fs::copy(fixtures().join("../fax/rx.tif"), &real).unwrap();

    let app = App::start_with(&db.store, |config| {
        config.fax.spool_dir = spool.clone();
        config.fax.max_tiff_bytes = 1024 * 1024;
        config.fax.default_to = vec!["desk@example.com".into()];
    })
    .await;
    let shown = |p: &Path| p.display().to_string();
    let refused = [
        "/etc/passwd".to_owned(),
        "/proc/self/environ".to_owned(),
        format!("{}/../secret.tif", shown(&spool)),
        shown(&spool.join("link.tif")),
        shown(&spool.join("sub/secret.tif")),
        shown(&fifo),
        shown(&spool.join("dir.tif")),
        shown(&spool.join("notes.tif")),
        "spool/notes.tif".to_owned(),
    ];
    let post = |n: usize, path: &str| {
        let xml = std::fs::read_to_string(fixtures().join("logdir").join(FAX_FILE))
            .unwrap()
            .replace("/tmp/fax/rx.tif", path)
            .replace(FAX, &format!("{FAX}-{n}"));
        app.post_xml(xml)
    };
    for (n, path) in refused.iter().enumerate() {
        let (status, body) = post(n, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // Larger than the cap, though a TIFF by its first bytes.
    let oversize = App::start_with(&db.store, |config| {
        config.fax.spool_dir = spool.clone();
        config.fax.max_tiff_bytes = 1024;
        config.fax.default_to = vec!["desk@example.com".into()];
    })
    .await;
    let xml = std::fs::read_to_string(fixtures().join("logdir").join(FAX_FILE))
        .unwrap()
        .replace("/tmp/fax/rx.tif", &shown(&spool.join("big.tif")))
        .replace(FAX, &format!("{FAX}-big"));
    let (status, body) = oversize.post_xml(xml).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let faxes = db.store.faxes(None, 100).await.unwrap();
    assert_eq!(faxes.len(), refused.len() + 1);
    for fax in &faxes {
        assert_eq!(fax.pdf_file_id, None, "{fax:?}");
        assert!(
            !fax.document_error.is_empty(),
            "the refusal is recorded: {fax:?}"
        );
    }
    let error_of = |suffix: &str| {
        faxes
            .iter()
            .find(|f| f.call_uuid == format!("{FAX}-{suffix}"))
            .unwrap()
            .document_error
            .clone()
    };
    assert!(
        error_of("0").contains("outside the spool"),
        "{}",
        error_of("0")
    );
    assert!(error_of("3").contains("symbolic link"), "{}", error_of("3"));
    assert!(
        error_of("5").contains("not a regular file"),
        "{}",
        error_of("5")
    );
    assert!(error_of("7").contains("not a TIFF"), "{}", error_of("7"));
    assert!(
        error_of("big").contains("larger than"),
        "{}",
        error_of("big")
    );
    let mails = db.store.outbox(None, None, 100).await.unwrap();
    assert_eq!(mails.len(), faxes.len(), "every fax is still mailed");
    for mail in &mails {
        assert_eq!(mail.attachment_file_id, None, "{mail:?}");
        assert!(
            mail.subject.contains("could not be read"),
            "{}",
            mail.subject
        );
        assert!(!mail.body.contains("SECRET"), "{}", mail.body);
        assert!(!mail.body.contains("root:"), "{}", mail.body);
        assert!(!mail.body.contains("/api/files/"), "{}", mail.body);
    }
    for id in 1..=100 {
        assert!(
            db.store.file(id).await.unwrap().is_none(),
            "file {id} stored"
        );
    }

    // The fax FreeSWITCH really wrote into the spool is converted and attached.
    let xml = std::fs::read_to_string(fixtures().join("logdir").join(FAX_FILE))
        .unwrap()
        .replace("/tmp/fax/rx.tif", &shown(&real))
        .replace(FAX, &format!("{FAX}-real"));
    let (status, body) = app.post_xml(xml).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fax = db
        .store
        .fax_of_call(&format!("{FAX}-real"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fax.document_error, "");
    let (file, bytes) = db
        .store
        .file(fax.pdf_file_id.expect("the PDF"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.content_type, "application/pdf");
    assert!(bytes.starts_with(b"%PDF-"));
}

on_both_backends!(
    a_backfill_after_an_outage_records_and_mails_the_faxes_in_it,
    a_cdr_holding_a_nul_is_refused_and_stores_nothing,
    a_database_failure_is_a_503_without_the_databases_words,
    captured_posts_are_stored_with_their_real_values,
    err_log_dir_files_are_read_in_every_encoding,
    a_fax_cdr_cannot_make_switchdesk_store_or_mail_another_file,
    the_same_cdr_five_times_is_one_call_and_one_ticket,
    legs_link_into_a_call_filed_under_the_callers_ticket,
    an_abandoned_unknown_caller_gets_a_callback_ticket,
    a_russian_deployment_titles_the_callback_ticket_in_russian,
    bad_posts_are_refused_and_store_nothing,
    the_log_directory_backfills_and_bad_files_move_aside,
);

/// A TCP proxy in front of PostgreSQL that, while armed, cuts the connection carrying the
/// first `INSERT INTO cdr_legs`: the database connection dies in the middle of a POST.
struct Proxy {
    address: std::net::SocketAddr,
    armed: Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let armed = Arc::new(AtomicBool::new(false));
        let trigger = armed.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let trigger = trigger.clone();
                tokio::spawn(async move {
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let down = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_read.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        let chunk = &buffer[..n];
                        if chunk.windows(20).any(|w| w == b"INSERT INTO cdr_legs")
                            && trigger.swap(false, Ordering::SeqCst)
                        {
                            break;
                        }
                        if server_write.write_all(chunk).await.is_err() {
                            break;
                        }
                    }
                    down.abort();
                });
            }
        });
        Proxy { address, armed }
    }

    fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// "Kill the database connection mid-POST → non-200, and the retry succeeds."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_connection_lost_mid_post_fails_the_post_and_the_retry_stores_it() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let real = reqwest::Url::parse(&db.url).unwrap();
    let upstream = format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    );
    let upstream = tokio::net::lookup_host(upstream)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Proxy::start(upstream).await;
    let mut through = real.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.address.port())).unwrap();
    let url = through.to_string();
    db.run(async move |db: TestDbRef| {
        let store = Store::connect(&url, 2).await.unwrap();
        let app = App::start(&store).await;
        proxy.arm();
        let (status, body) = app.post_captured("post_003_03_abandon_caller").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(count(&db.store, "legs").await, 0, "nothing half-stored");
        // mod_xml_cdr retries the same POST.
        let (status, body) = app.post_captured("post_003_03_abandon_caller").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["stored"], Value::Bool(true));
        assert_eq!(count(&db.store, "legs").await, 1);
        assert_eq!(count(&db.store, "calls").await, 1);
        store.close().await;
    })
    .await;
}
