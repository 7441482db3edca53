//! Fax to e-mail end to end: the whole service (`service::run`) on the simulated switch, with a
//! real SMTP server (aiosmtpd writing a Maildir) started and stopped by the test. A fax comes in
//! as capture 07 shows it, the desk records it and queues its mail, the outbox sends it; the
//! test reads the Maildir and the API. Also: the capture's event and CDR of one fax read alike
//! and give one mail, and the store's fax and outbox rows on both backends.
//!
//! The SMTP server is Debian's `python3-aiosmtpd`, the PDF check `pdfinfo` (`poppler-utils`).
//! Without them the end-to-end scenarios are skipped with a message, unless `CI` is set, where
//! they fail.

mod captures;
#[macro_use]
mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestDb, TestDbRef};
use serde_json::Value;
use switchdesk::cdr::cdr_from_form;
use switchdesk::cdr::parse_cdr;
use switchdesk::config::{Config, Secret};
use switchdesk::directory::model::{Number, NumberKind, Organization};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::esl::{Event, Parser};
use switchdesk::fax::{FaxConfig, FaxDesk, FaxReceived, Receipt};
use switchdesk::mail::Outbox;
use switchdesk::sim::{FaxOutcome, FaxSpec, Route, SimConfig, Simulator};
use switchdesk::store::{Attach, FaxRecord, MailState, NewFile, NewMail, Recorded, Store};
use switchdesk::users::{self, Role};

fn fixtures() -> PathBuf {
    captures::freeswitch()
}

const PYTHON: &str = "/usr/bin/python3";

/// Whether aiosmtpd and pdfinfo are installed. Under CI a missing one fails the test.
fn have_tools() -> bool {
    let smtpd = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let pdfinfo = Command::new("pdfinfo")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if smtpd && pdfinfo {
        return true;
    }
    let message = "python3-aiosmtpd and poppler-utils are needed \
                   (apt-get install python3-aiosmtpd poppler-utils)";
    assert!(std::env::var_os("CI").is_none(), "CI: {message}");
    eprintln!("skipping the fax mail scenarios: {message}");
    false
}

/// A free local port (nothing listens on it until a server is started there).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// aiosmtpd storing every accepted message in a Maildir; killed when dropped.
struct SmtpServer {
    child: Child,
}

impl SmtpServer {
    async fn start(port: u16, maildir: &Path) -> SmtpServer {
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = SmtpServer { child };
        wait_for(|| async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        server
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until `done` (a guard of 60 s against a hang, not a timing assertion).
async fn wait_for<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One message of the Maildir, read by Python's `email` package.
#[derive(Debug)]
struct Mail {
    message_id: String,
    subject: String,
    to: String,
    body: String,
    /// (file name, content type, path of the saved bytes).
    attachments: Vec<(String, String, PathBuf)>,
}

const READ_MAILDIR: &str = r#"
import email, email.policy, json, os, sys
maildir, out = sys.argv[1], sys.argv[2]
mails = []
for n, name in enumerate(sorted(os.listdir(os.path.join(maildir, "new")))):
    with open(os.path.join(maildir, "new", name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    body, parts = "", []
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        if part.get_filename():
            path = os.path.join(out, f"{n}-{i}-{part.get_filename()}")
            with open(path, "wb") as g:
                g.write(part.get_payload(decode=True))
            parts.append([part.get_filename(), part.get_content_type(), path])
        elif part.get_content_type() == "text/plain":
            body += part.get_content()
    mails.append({"message_id": msg["Message-ID"], "subject": str(msg["Subject"]),
                  "to": str(msg["To"]), "body": body, "attachments": parts})
print(json.dumps(mails))
"#;

fn read_maildir(maildir: &Path, out: &Path) -> Vec<Mail> {
    if !maildir.join("new").exists() {
        return Vec::new();
    }
    let output = succeed(
        Command::new(PYTHON)
            .args(["-c", READ_MAILDIR])
            .arg(maildir)
            .arg(out),
    );
    let mails: Vec<Value> = serde_json::from_slice(&output).unwrap();
    mails
        .into_iter()
        .map(|m| Mail {
            message_id: m["message_id"].as_str().unwrap_or("").to_owned(),
            subject: m["subject"].as_str().unwrap().to_owned(),
            to: m["to"].as_str().unwrap().to_owned(),
            body: m["body"].as_str().unwrap().to_owned(),
            attachments: m["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a[0].as_str().unwrap().to_owned(),
                        a[1].as_str().unwrap().to_owned(),
                        PathBuf::from(a[2].as_str().unwrap()),
                    )
                })
                .collect(),
        })
        .collect()
}

/// What the command printed; fails the test with its stderr if it fails.
fn succeed(command: &mut Command) -> Vec<u8> {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// `pdfinfo`'s page count; fails the test if poppler cannot read the file.
fn pdf_pages(path: &Path) -> u32 {
    let output = succeed(Command::new("pdfinfo").arg(path));
    String::from_utf8_lossy(&output)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count")
}

const DID: &str = "+12125550172";
const ORG_DID: &str = "+12125550173";
const NOBODY_DID: &str = "+12125550174";

/// The service on a simulated switch whose dialplan sends three DIDs to rxfax.
struct Rig {
    sim: Simulator,
    store: Store,
    http: SocketAddr,
    smtp_port: u16,
    maildir: PathBuf,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Rig {
    async fn start(adjust: impl FnOnce(&mut Config)) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let sim_config = SimConfig {
            dialplan: vec![
                Route::fax(DID, &spool),
                Route::fax(ORG_DID, &spool),
                Route::fax(NOBODY_DID, &spool),
            ],
            ..SimConfig::default()
        };
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(sim_listener, sim_config).await.unwrap();

        let db_url = format!("sqlite://{}/switchdesk.db", dir.path().display());
        let store = Store::connect(&db_url, 4).await.unwrap();
        users::add_user(&store, "viewer", Role::Agent, "viewer-password")
            .await
            .unwrap();
        users::add_user(&store, "boss", Role::Supervisor, "boss-password")
            .await
            .unwrap();
        store
            .save_record(&Organization {
                name: "Acme Logistics".into(),
                numbers: vec![Number {
                    number: ORG_DID.into(),
                    kind: NumberKind::Fax,
                }],
                fax_mailboxes: vec!["acme-fax@example.com".into()],
                ..Default::default()
            })
            .await
            .unwrap();

        let smtp_port = free_port();
        let mut config = Config::default();
        config.database.url = Secret::new(db_url);
        config.esl.host = sim.addr().ip().to_string();
        config.esl.port = sim.addr().port();
        config.smtp.port = smtp_port;
        config.smtp.from = "Fax <fax@switchdesk.example>".into();
        config.smtp.timeout_secs = 5;
        config
            .fax
            .mailboxes
            .insert(DID.into(), vec!["front-desk@example.com".into()]);
        config.fax.default_to = vec!["fallback@example.com".into()];
        config.fax.retry_initial_ms = 100;
        config.fax.retry_max_ms = 400;
        config.fax.max_attempts = 1_000;
        config.fax.public_url = "https://desk.example.com/".into();
        config.fax.spool_dir = spool.clone();
        adjust(&mut config);
        config.validate().unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(switchdesk::service::run(config, listener, async {
            let _ = stopped.await;
        }));
        // Faxes sent before the service subscribed would only arrive with their CDRs.
        let subscribed = sim.clone();
        wait_for(|| {
            let sim = subscribed.clone();
            async move {
                sim.commands_received()
                    .iter()
                    .any(|c| c.contains("CHANNEL_EXECUTE_COMPLETE"))
            }
        })
        .await;
        Rig {
            sim,
            store,
            http,
            smtp_port,
            maildir: dir.path().join("maildir"),
            dir,
            stop: Some(stop),
            served,
        }
    }

    async fn smtp(&self) -> SmtpServer {
        SmtpServer::start(self.smtp_port, &self.maildir).await
    }

    async fn fax(&self, from: &str, did: &str, outcome: FaxOutcome) -> String {
        let mut spec = FaxSpec::new(from, did, fixtures().join("fax/rx.tif"));
        spec.from_name = format!("Sender {from}");
        spec.duration = Duration::from_millis(100);
        spec.outcome = outcome;
        self.sim.receive_fax(spec).await.unwrap()
    }

    fn mails(&self) -> Vec<Mail> {
        let out = self.dir.path().join("read");
        std::fs::create_dir_all(&out).unwrap();
        read_maildir(&self.maildir, &out)
    }

    async fn wait_sent(&self, count: usize) {
        let store = self.store.clone();
        wait_for(|| {
            let store = store.clone();
            async move {
                store
                    .outbox(Some(MailState::Sent), None, 1_000)
                    .await
                    .unwrap()
                    .len()
                    == count
            }
        })
        .await;
    }

    /// Signs in; the `Cookie` header value for later requests.
    async fn login(&self, name: &str) -> String {
        let login = reqwest::Client::new()
            .post(format!("http://{}/api/login", self.http))
            .json(&serde_json::json!({"name": name, "password": format!("{name}-password")}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), reqwest::StatusCode::OK);
        login.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = tokio::time::timeout(Duration::from_secs(15), &mut self.served)
            .await
            .expect("service stops");
        served.unwrap().unwrap();
        self.sim.shutdown();
        self.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_faxes_while_smtp_is_down_are_all_mailed_once_it_is_back() {
    if !have_tools() {
        return;
    }
    let rig = Rig::start(|_| {}).await;
    let mut calls = Vec::new();
    for n in 0..20 {
        calls.push(
            rig.fax(&format!("+1555000{n:04}"), DID, FaxOutcome::Success)
                .await,
        );
    }
    // Every fax is recorded and its mail has failed at least once against the closed port.
    let store = rig.store.clone();
    wait_for(|| {
        let store = store.clone();
        async move {
            let mails = store.outbox(None, None, 1_000).await.unwrap();
            mails.len() == 20 && mails.iter().all(|m| m.attempts > 0)
        }
    })
    .await;
    let pending = rig.store.outbox(None, None, 1_000).await.unwrap();
    assert!(pending.iter().all(|m| m.state == MailState::Pending));
    assert!(pending.iter().all(|m| !m.last_error.is_empty()));

    let _smtp = rig.smtp().await;
    rig.wait_sent(20).await;
    let mails = rig.mails();
    assert_eq!(mails.len(), 20, "exactly one mail per fax");
    let ids: HashSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), 20, "no mail twice: {ids:?}");
    let faxes = rig.store.faxes(None, 100).await.unwrap();
    let uuids: HashSet<&str> = faxes.iter().map(|f| f.call_uuid.as_str()).collect();
    assert_eq!(uuids, calls.iter().map(String::as_str).collect());
    for mail in &mails {
        assert_eq!(mail.to, "front-desk@example.com");
        assert!(
            mail.subject.ends_with(&format!("to {DID}: 2 pages")),
            "{}",
            mail.subject
        );
        assert_eq!(mail.attachments.len(), 1, "{mail:?}");
        let (name, content_type, path) = &mail.attachments[0];
        assert_eq!(content_type, "application/pdf");
        assert!(name.ends_with(".pdf"), "{name}");
        assert_eq!(pdf_pages(path), 2);
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reception_is_mailed_with_its_reason() {
    if !have_tools() {
        return;
    }
    let rig = Rig::start(|_| {}).await;
    let _smtp = rig.smtp().await;
    let call = rig
        .fax("+15550001111", DID, FaxOutcome::Failure { code: 48 })
        .await;
    rig.wait_sent(1).await;
    let mails = rig.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.subject
            .contains("failed: Disconnected after permitted retries (code 48)"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains(&call), "{}", mail.body);
    assert!(mail.attachments.is_empty());
    let faxes = rig.store.faxes(None, 10).await.unwrap();
    assert_eq!(faxes.len(), 1);
    assert!(!faxes[0].success);
    assert_eq!(faxes[0].result_code, Some(48));
    assert_eq!(faxes[0].pdf_file_id, None);
    rig.stop().await;
}

/// A Russian deployment (`[service] language = "ru"`) mails its faxes in Russian, the pages
/// counted in the right plural form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_deployment_mails_the_fax_in_russian() {
    if !have_tools() {
        return;
    }
    let rig = Rig::start(|config| config.service.language = switchdesk::texts::Language::Ru).await;
    let _smtp = rig.smtp().await;
    let call = rig.fax("+15550002222", DID, FaxOutcome::Success).await;
    rig.wait_sent(1).await;
    let mails = rig.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(
        mail.subject,
        format!("Факс от Sender +15550002222 (+15550002222) на {DID}: 2 страницы")
    );
    let body = mail.body.replace("\r\n", "\n");
    assert!(
        body.starts_with(&format!("Пришёл факс на номер {DID}.\n\n")),
        "{body:?}"
    );
    for line in [
        format!("{:<22}{DID}\n", "Кому:"),
        format!("{:<22}2\n", "Страниц:"),
        format!("{:<22}{call}\n", "Звонок:"),
        "Вложение: документ (PDF).\n".to_owned(),
    ] {
        assert!(body.contains(&line), "{line:?} not in {body:?}");
    }
    assert_eq!(mail.attachments.len(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fax_is_a_link_that_needs_a_session() {
    if !have_tools() {
        return;
    }
    let rig = Rig::start(|config| config.fax.attach_limit_bytes = 1_000).await;
    let _smtp = rig.smtp().await;
    rig.fax("+15550002222", DID, FaxOutcome::Success).await;
    rig.wait_sent(1).await;
    let mails = rig.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].attachments.is_empty(), "{:?}", mails[0]);
    let link = mails[0]
        .body
        .lines()
        .find(|l| l.starts_with("https://desk.example.com/api/files/"))
        .unwrap_or_else(|| panic!("a download link in {}", mails[0].body))
        .to_owned();
    let path = link.trim_start_matches("https://desk.example.com");
    let url = format!("http://{}{path}", rig.http);

    let client = reqwest::Client::new();
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);

    let cookie = rig.login("viewer").await;
    let download = client
        .get(&url)
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), reqwest::StatusCode::OK);
    assert_eq!(
        download.headers()[reqwest::header::CONTENT_TYPE],
        "application/pdf"
    );
    let bytes = download.bytes().await.unwrap();
    let saved = rig.dir.path().join("download.pdf");
    std::fs::write(&saved, &bytes).unwrap();
    assert_eq!(pdf_pages(&saved), 2);

    let missing = client
        .get(format!("http://{}/api/files/999999", rig.http))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    // An agent may download, but the outbox is for supervisors.
    let outbox = client
        .get(format!("http://{}/api/outbox", rig.http))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(outbox.status(), reqwest::StatusCode::FORBIDDEN);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailboxes_come_from_config_then_the_phone_book_then_the_default() {
    if !have_tools() {
        return;
    }
    let rig = Rig::start(|_| {}).await;
    let _smtp = rig.smtp().await;
    rig.fax("+15550003333", DID, FaxOutcome::Success).await;
    rig.fax("+15550004444", ORG_DID, FaxOutcome::Success).await;
    rig.fax("+15550005555", NOBODY_DID, FaxOutcome::Success)
        .await;
    rig.wait_sent(3).await;
    let mut to: Vec<(String, String)> = rig
        .mails()
        .into_iter()
        .map(|m| {
            let did = m
                .subject
                .split(" to ")
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_owned();
            (did, m.to)
        })
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            (DID.to_owned(), "front-desk@example.com".to_owned()),
            (ORG_DID.to_owned(), "acme-fax@example.com".to_owned()),
            (NOBODY_DID.to_owned(), "fallback@example.com".to_owned()),
        ]
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_given_up_on_goes_out_when_a_supervisor_retries_it() {
    if !have_tools() {
        return;
    }
    let rig = Rig::start(|config| config.fax.max_attempts = 2).await;
    let call = rig.fax("+15550006666", DID, FaxOutcome::Success).await;
    let store = rig.store.clone();
    wait_for(|| {
        let store = store.clone();
        async move {
            !store
                .outbox(Some(MailState::Failed), None, 10)
                .await
                .unwrap()
                .is_empty()
        }
    })
    .await;
    let cookie = rig.login("boss").await;
    let client = reqwest::Client::new();
    let failed: Vec<Value> = client
        .get(format!("http://{}/api/outbox?state=failed", rig.http))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 2);
    assert_eq!(failed[0]["dedupe_key"], format!("fax:{call}"));
    assert!(failed[0]["last_error"].as_str().unwrap().contains("SMTP"));
    let faxes: Vec<Value> = client
        .get(format!("http://{}/api/faxes", rig.http))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faxes[0]["call_uuid"], call.as_str());
    assert_eq!(faxes[0]["pages"], 2);

    let _smtp = rig.smtp().await;
    let retry = client
        .post(format!(
            "http://{}/api/outbox/{}/retry",
            rig.http, failed[0]["id"]
        ))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::ORIGIN, format!("http://{}", rig.http))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), reqwest::StatusCode::OK);
    rig.wait_sent(1).await;
    assert_eq!(rig.mails().len(), 1);
    // Sent is final.
    let again = client
        .post(format!(
            "http://{}/api/outbox/{}/retry",
            rig.http, failed[0]["id"]
        ))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::ORIGIN, format!("http://{}", rig.http))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::NOT_FOUND);
    rig.stop().await;
}

/// The first frame of a capture whose event satisfies `wanted`.
fn capture_event(name: &str, wanted: impl Fn(&Event) -> bool) -> Event {
    let bytes = std::fs::read(fixtures().join("esl").join(name)).unwrap();
    let mut parser = Parser::default();
    parser.push(&bytes);
    while let Some(frame) = parser.next_frame().unwrap() {
        if let Ok(event) = Event::from_frame(&frame) {
            if wanted(&event) {
                return event;
            }
        }
    }
    panic!("no such event in {name}");
}

fn capture_cdr(name: &str) -> switchdesk::cdr::Cdr {
    let raw = std::fs::read(fixtures().join("cdr/http").join(name)).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    parse_cdr(&cdr_from_form(&raw[split + 4..]).unwrap()).unwrap()
}

#[test]
fn the_capture_event_and_cdr_of_one_fax_read_alike() {
    let event = capture_event("07_fax_plain_ALL.rx", |e| {
        FaxReceived::from_event(e).is_some()
    });
    let from_event = FaxReceived::from_event(&event).unwrap();
    let from_cdr =
        FaxReceived::from_cdr(&capture_cdr("post_009_07_fax_rx_loopback_b.http")).unwrap();
    assert_eq!(from_event.call_uuid, "4ab15041-a966-49fa-b660-fe31b8c2f6be");
    assert_eq!(from_event.tiff_path, Some(PathBuf::from("/tmp/fax/rx.tif")));
    assert!(from_event.success);
    assert_eq!(from_event.pages, 2);
    assert_eq!(from_event.result_code, Some(0));
    assert_eq!(from_event.remote_station.as_deref(), Some("FIXTURE-TX"));
    assert_eq!(from_event.did, "7200");
    assert_eq!(
        from_event.caller(switchdesk::texts::Language::En),
        "FaxSender (5551234)"
    );
    // Only the end time differs (event date vs. the CDR's end_uepoch), and not by much.
    assert_eq!(
        FaxReceived {
            received_at: 0,
            ..from_event.clone()
        },
        FaxReceived {
            received_at: 0,
            ..from_cdr.clone()
        }
    );
    // The sending leg's CDR and every other event are not a reception.
    assert!(FaxReceived::from_cdr(&capture_cdr("post_010_07_fax_tx_loopback_a.http")).is_none());
    assert!(FaxReceived::from_cdr(&capture_cdr("post_001_02_call_caller_aleg.http")).is_none());
    let txfax = capture_event("07_fax_plain_ALL.rx", |e| {
        e.is("CHANNEL_EXECUTE_COMPLETE") && e.get("Application").as_deref() == Some("txfax")
    });
    assert!(FaxReceived::from_event(&txfax).is_none());
}

/// The desk alone on a store: the event, then the CDR of the same fax, give one mail; a
/// TIFF that cannot be converted still gives a record and a notice with the raw file.
async fn the_event_and_the_cdr_of_one_fax_give_one_mail(db: TestDbRef) {
    let dir = tempfile::tempdir().unwrap();
    let tiff = dir.path().join("rx.tif");
    std::fs::copy(fixtures().join("fax/rx.tif"), &tiff).unwrap();
    let config = FaxConfig {
        default_to: vec!["desk@example.com".into()],
        spool_dir: dir.path().to_path_buf(),
        ..FaxConfig::default()
    };
    let phonebook = std::sync::Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let desk = FaxDesk::new(db.store.clone(), phonebook, config, Outbox::new());

    let event = capture_event("07_fax_plain_ALL.rx", |e| {
        FaxReceived::from_event(e).is_some()
    });
    let mut from_event = FaxReceived::from_event(&event).unwrap();
    from_event.tiff_path = Some(tiff.clone());
    let mut from_cdr =
        FaxReceived::from_cdr(&capture_cdr("post_009_07_fax_rx_loopback_b.http")).unwrap();
    from_cdr.tiff_path = Some(tiff.clone());

    let first = desk.receive(from_event).await.unwrap();
    assert!(
        matches!(first, Receipt::Recorded { ref mailed_to, document: Some(_) } if mailed_to == &["desk@example.com"])
    );
    assert_eq!(
        desk.receive(from_cdr.clone()).await.unwrap(),
        Receipt::AlreadyRecorded
    );
    // Both at once (the CDR posted while the event is still being handled) still give one.
    let mut again = from_cdr.clone();
    again.call_uuid = "5d1e7c52-0000-4000-8000-000000000001".into();
    let (a, b) = tokio::join!(desk.receive(again.clone()), desk.receive(again.clone()));
    let receipts = [a.unwrap(), b.unwrap()];
    assert_eq!(
        receipts
            .iter()
            .filter(|r| **r == Receipt::AlreadyRecorded)
            .count(),
        1,
        "{receipts:?}"
    );
    let mails = db.store.outbox(None, None, 100).await.unwrap();
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().all(|m| m.attachment_file_id.is_some()));

    // Not a TIFF: recorded, mailed as unconvertible, with the raw file attached.
    let broken = dir.path().join("broken.tif");
    std::fs::write(&broken, b"II*\0garbage").unwrap();
    let mut bad = from_cdr.clone();
    bad.call_uuid = "5d1e7c52-0000-4000-8000-000000000002".into();
    bad.tiff_path = Some(broken);
    desk.receive(bad.clone()).await.unwrap();
    // And a TIFF that is gone.
    let mut gone = from_cdr;
    gone.call_uuid = "5d1e7c52-0000-4000-8000-000000000003".into();
    gone.tiff_path = Some(dir.path().join("missing.tif"));
    desk.receive(gone.clone()).await.unwrap();

    let mails = db.store.outbox(None, None, 100).await.unwrap();
    let about = |uuid: &str| {
        mails
            .iter()
            .find(|m| m.dedupe_key == format!("fax:{uuid}"))
            .unwrap()
            .clone()
    };
    let bad_mail = about(&bad.call_uuid);
    assert!(
        bad_mail.subject.contains("could not be converted"),
        "{}",
        bad_mail.subject
    );
    let (file, _) = db
        .store
        .file(bad_mail.attachment_file_id.expect("the raw TIFF"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.content_type, "image/tiff");
    let gone_mail = about(&gone.call_uuid);
    assert!(
        gone_mail.body.contains("could not be opened"),
        "{}",
        gone_mail.body
    );
    assert_eq!(gone_mail.attachment_file_id, None);
    let faxes = db.store.faxes(None, 100).await.unwrap();
    assert_eq!(faxes.len(), 4);
}

fn record(uuid: &str, at: i64) -> FaxRecord {
    FaxRecord {
        call_uuid: uuid.into(),
        direction: "inbound".into(),
        did: DID.into(),
        caller_number: "+15550001234".into(),
        pages: 2,
        success: true,
        result_code: Some(0),
        result_text: "OK".into(),
        received_at: at,
        ..Default::default()
    }
}

fn mail(key: &str) -> NewMail {
    NewMail {
        dedupe_key: key.into(),
        recipients: vec!["desk@example.com".into()],
        subject: "Fax".into(),
        body: "A fax arrived.".into(),
        attachment: Attach::Document,
    }
}

async fn a_fax_its_document_and_its_mail_are_stored_once(db: TestDbRef) {
    let store = &db.store;
    let pdf = NewFile {
        name: "fax.pdf".into(),
        content_type: "application/pdf".into(),
        content: vec![0, 1, 2, 255, b'%'],
    };
    let recorded = store
        .record_fax(&record("a", 1_000), Some(pdf.clone()), |id| {
            assert!(id.is_some());
            vec![mail("fax:a")]
        })
        .await
        .unwrap();
    let Recorded::New {
        document: Some(file_id),
    } = recorded
    else {
        panic!("{recorded:?}");
    };
    let again = store
        .record_fax(&record("a", 2_000), Some(pdf.clone()), |_| {
            vec![mail("fax:a")]
        })
        .await
        .unwrap();
    assert_eq!(again, Recorded::AlreadyRecorded);
    assert!(store.fax_recorded("a").await.unwrap());
    let (file, bytes) = store.file(file_id).await.unwrap().unwrap();
    assert_eq!((file.size, bytes), (5, pdf.content.clone()));
    let faxes = store.faxes(None, 10).await.unwrap();
    assert_eq!(faxes.len(), 1);
    assert_eq!(faxes[0].pdf_file_id, Some(file_id));
    assert_eq!(faxes[0].received_at, 1_000);

    let mails = store.outbox(None, None, 10).await.unwrap();
    assert_eq!(mails.len(), 1);
    let id = mails[0].id;
    assert_eq!(mails[0].attachment_file_id, Some(file_id));
    assert_eq!(store.due_mails(i64::MAX, 10).await.unwrap().len(), 1);

    // Attempts: retry later, then give up, then retried by hand, then sent.
    store
        .mail_attempt_failed(id, 1, Some(5_000), "connection refused")
        .await
        .unwrap();
    assert!(store.due_mails(4_999, 10).await.unwrap().is_empty());
    assert_eq!(store.next_mail_due().await.unwrap(), Some(5_000));
    store
        .mail_attempt_failed(id, 2, None, "gave up")
        .await
        .unwrap();
    assert_eq!(store.next_mail_due().await.unwrap(), None);
    let failed = store
        .outbox(Some(MailState::Failed), None, 10)
        .await
        .unwrap();
    assert_eq!((failed.len(), failed[0].attempts), (1, 2));
    let retried = store.retry_mail(id).await.unwrap();
    assert_eq!((retried.state, retried.attempts), (MailState::Pending, 0));
    store.mail_sent(id, 1, 9_000).await.unwrap();
    let sent = store.mail(id).await.unwrap().unwrap();
    assert_eq!((sent.state, sent.sent_at), (MailState::Sent, Some(9_000)));
    assert!(
        store.retry_mail(id).await.is_err(),
        "a sent mail is not sent again"
    );
    assert!(store.retry_mail(424_242).await.is_err());

    // A second fax, without a document; the outbox newest first, filtered, paged.
    store
        .record_fax(&record("b", 3_000), None, |id| {
            assert_eq!(id, None);
            vec![mail("fax:b")]
        })
        .await
        .unwrap();
    let all = store.outbox(None, None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].dedupe_key, "fax:b");
    assert_eq!(all[0].attachment_file_id, None, "no document to attach");
    let older = store.outbox(None, Some(all[0].id), 10).await.unwrap();
    assert_eq!(older.len(), 1);
    let pending = store
        .outbox(Some(MailState::Pending), None, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(store.faxes(None, 10).await.unwrap()[0].call_uuid, "b");
    assert_eq!(
        store.faxes(Some(3_000), 10).await.unwrap()[0].call_uuid,
        "a"
    );
    assert!(store.file(file_id + 100).await.unwrap().is_none());
}

on_both_backends!(
    the_event_and_the_cdr_of_one_fax_give_one_mail,
    a_fax_its_document_and_its_mail_are_stored_once,
);
