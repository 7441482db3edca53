//! A full disk, for real: the SQLite database on a 4 MiB tmpfs that the test fills with a file.
//! While it is full, every write is an error to its client (never a 201 for a row that was
//! not committed), nothing phantom is listed, and `/healthz` says the database cannot store
//! writes; once the file is deleted the service recovers by itself (no "database is locked"
//! left behind): writes, logins and CDRs work again and `/healthz` is 200.
//!
//! Mounting a tmpfs needs root. Without it the test is skipped with a message, unless `CI` is
//! set, where it fails.

mod captures;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use switchdesk::config::{Config, Secret};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::store::Store;
use switchdesk::users::{self, Role};

const CDR_USER: &str = "freeswitch";
const CDR_PASSWORD: &str = "cdr-secret-for-tests";
const PASSWORD: &str = "long-enough-password";
/// Captured mod_xml_cdr POSTs, refused while the disk is full and stored once it has room.
const CDRS: [&str; 3] = [
    "post_001_02_call_caller_aleg",
    "post_002_02_call_agent_bleg",
    "post_003_03_abandon_caller",
];

/// A 4 MiB tmpfs mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after saying why) when this process may not mount; under CI that fails.
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Tmpfs { dir }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                let message =
                    format!("the full-disk test mounts a 4 MiB tmpfs, which needs root ({why})");
                assert!(std::env::var_os("CI").is_none(), "CI: {message}");
                // Past the test harness's capture, so a skip is seen.
                let _ = writeln!(std::io::stderr(), "skipping: {message}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a connection the pool is still closing must not keep the mount around.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros into `path` until the filesystem refuses more.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&chunk) {
            assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC, got {e}");
            break;
        }
    }
    // Whatever is left is smaller than a chunk: take it too.
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
}

struct App {
    base: String,
    client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl App {
    async fn start(store: &Store) -> App {
        let mut config = Config::default();
        config.cdr.username = CDR_USER.into();
        config.cdr.password = Secret::new(CDR_PASSWORD);
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
        tokio::spawn(switchdesk::web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        App {
            // As the dashboard's own page would: `Origin` on every request (same-site writes).
            client: Client::builder()
                .default_headers(
                    [(reqwest::header::ORIGIN, base.parse().unwrap())]
                        .into_iter()
                        .collect(),
                )
                .build()
                .unwrap(),
            base,
            stop: Some(stop),
        }
    }

    /// Signs in: the session cookie, or the failed answer.
    async fn login(&self) -> Result<String, (StatusCode, String)> {
        let response = self
            .client
            .post(format!("{}/api/login", self.base))
            .json(&json!({"name": "clerk", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::OK {
            return Err((response.status(), response.text().await.unwrap()));
        }
        let cookie = response.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Ok(cookie)
    }

    async fn create_contact(&self, cookie: &str, name: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/api/contacts", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .json(&json!({"first_name": name, "last_name": "Fuller"}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, cookie: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_cdr(&self, name: &str) -> (StatusCode, Value) {
        let (content_type, body) = captures::cdr_post(name);
        let response = self
            .client
            .post(format!("{}/api/cdr", self.base))
            .basic_auth(CDR_USER, Some(CDR_PASSWORD))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The first names of the stored contacts.
async fn contact_names(app: &App, cookie: &str) -> Vec<String> {
    let (status, body) = app.get(cookie, "/api/contacts?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut names: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["first_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// An error answer as the API gives it: JSON with a code, and no database text.
fn assert_opaque_error(status: StatusCode, body: &Value) {
    assert!(status.is_server_error(), "{status}: {body}");
    assert!(body["code"].is_string(), "{body}");
    let text = body.to_string().to_lowercase();
    for leaked in ["sqlite", "disk", "full", "locked", "database error"] {
        assert!(!text.contains(leaked), "database text echoed: {body}");
    }
}

/// Polls `done` (a guard of 60 s against a hang, not a timing assertion).
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_full_disk_acknowledges_no_write_and_the_store_recovers(round: usize, tmpfs: Tmpfs) {
    let url = format!("sqlite://{}/switchdesk.db", tmpfs.path().display());
    let store = Store::connect(&url, 4).await.unwrap();
    users::add_user(&store, "clerk", Role::Supervisor, PASSWORD)
        .await
        .unwrap();
    let app = App::start(&store).await;
    let cookie = app.login().await.unwrap();
    let (status, body) = app.create_contact(&cookie, "Before").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app.get(&cookie, "/healthz").await;
    assert_eq!(status, StatusCode::OK);

    let filler = tmpfs.path().join("filler");
    fill(&filler);
    for n in 0..5 {
        let (status, body) = app.create_contact(&cookie, &format!("Full{n}")).await;
        assert_ne!(
            status,
            StatusCode::CREATED,
            "round {round}: acknowledged on a full disk: {body}"
        );
        assert_opaque_error(status, &body);
    }
    // Writes at once, on every pooled connection, and the other writers: sessions, CDRs.
    let names: Vec<String> = (0..10).map(|n| format!("Parallel{n}")).collect();
    let parallel = names.iter().map(|n| app.create_contact(&cookie, n));
    for (status, body) in futures_util::future::join_all(parallel).await {
        assert_ne!(status, StatusCode::CREATED, "round {round}: {body}");
        assert_opaque_error(status, &body);
    }
    for _ in 0..3 {
        let (status, body) = app.login().await.expect_err("a session cannot be stored");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_opaque_error(status, &body);
    }
    for cdr in CDRS {
        let (status, body) = app.post_cdr(cdr).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{cdr} on a full disk: {body}"
        );
        assert_opaque_error(status, &body);
    }
    let (status, body) = app.get(&cookie, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("cannot store writes"),
        "{body}"
    );
    assert_eq!(
        contact_names(&app, &cookie).await,
        ["Before"],
        "no phantom rows"
    );

    std::fs::remove_file(&filler).unwrap();
    // It recovers by itself: no restart, no reconnect by hand.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let created = loop {
        let (status, body) = app.create_contact(&cookie, "After").await;
        if status == StatusCode::CREATED {
            break body["id"].as_i64();
        }
        assert_opaque_error(status, &body);
        assert!(
            tokio::time::Instant::now() < deadline,
            "round {round}: no write stored within 60 s of the disk having room"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = created.expect("an id");
    let (status, body) = app.get(&cookie, &format!("/api/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["contact"]["first_name"], "After");
    eventually("healthz is 200", || async {
        app.get(&cookie, "/healthz").await.0 == StatusCode::OK
    })
    .await;
    // Every pooled connection writes again: logins (a session row each) and CDRs.
    for _ in 0..8 {
        app.login().await.expect("login after recovery");
    }
    for cdr in CDRS {
        let (status, body) = app.post_cdr(cdr).await;
        assert_eq!(status, StatusCode::OK, "{cdr} after recovery: {body}");
    }
    let (status, body) = app.create_contact(&cookie, "Later").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        contact_names(&app, &cookie).await,
        ["After", "Before", "Later"]
    );
    drop(app);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_acknowledges_no_write_and_the_store_recovers_by_itself() {
    // Several rounds: the stuck state after a full disk showed up in some trials only.
    for round in 0..4 {
        let Some(tmpfs) = Tmpfs::mount() else {
            return;
        };
        a_full_disk_acknowledges_no_write_and_the_store_recovers(round, tmpfs).await;
    }
}
