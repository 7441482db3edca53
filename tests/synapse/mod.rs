//! A real Synapse for the chat tests: found (or installed by `install.sh`) in its virtual
//! environment, started once per test binary on a free port with SQLite and open registration,
//! and killed when the test binary ends (the parent-death signal of the thread that started
//! it, which lives as long as the process). Without Synapse the tests are skipped with a
//! message, unless `CI` is set, where they fail.
//!
//! Beside it, the few client-server calls a person in the room makes: register, create a room,
//! say something, read the room.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Synapse {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
}

/// An account on the test homeserver.
#[derive(Clone, Debug)]
pub struct Account {
    pub user_id: String,
    pub token: String,
}

/// One message read back from a room.
#[derive(Clone, Debug)]
pub struct Said {
    pub event_id: String,
    pub sender: String,
    pub msgtype: String,
    pub body: String,
    pub formatted_body: Option<String>,
    /// The event it answers (`m.in_reply_to`).
    pub reply_to: Option<String>,
}

static SYNAPSE: OnceLock<Option<Synapse>> = OnceLock::new();

/// The test binary's Synapse; `None` (after saying why) when it cannot be had outside CI.
pub fn synapse() -> Option<&'static Synapse> {
    SYNAPSE.get_or_init(start).as_ref()
}

fn unavailable(message: String) -> Option<Synapse> {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs Synapse: {message}"
    );
    eprintln!("skipping the Matrix test: {message}");
    None
}

fn venv() -> PathBuf {
    match std::env::var_os("SWITCHDESK_SYNAPSE_VENV") {
        Some(path) => PathBuf::from(path),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/switchdesk/synapse")
        }
    }
}

fn imports(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import synapse.app.homeserver"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start() -> Option<Synapse> {
    let python = venv().join("bin/python");
    if !imports(&python) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/synapse/install.sh");
        eprintln!("installing Synapse into {} ...", venv().display());
        let installed = Command::new("bash").arg(&script).output();
        match installed {
            Ok(out) if out.status.success() && imports(&python) => {}
            Ok(out) => {
                return unavailable(format!(
                    "{} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
            Err(e) => return unavailable(format!("cannot run {}: {e}", script.display())),
        }
    }
    let dir = std::env::temp_dir().join(format!("switchdesk-synapse-{}", std::process::id()));
    remove_stale_dirs();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("homeserver.yaml");
    std::fs::write(&config, homeserver_yaml(&dir, port)).unwrap();
    let keys = Command::new(&python)
        .args(["-m", "synapse.app.homeserver", "--generate-keys", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        keys.status.success(),
        "synapse --generate-keys: {}",
        String::from_utf8_lossy(&keys.stderr)
    );
    let log = dir.join("synapse.log");
    let (started, running) = std::sync::mpsc::channel();
    // The thread that starts Synapse lives as long as the test binary: the child is killed
    // when it ends (PR_SET_PDEATHSIG follows the thread, not the process).
    let (spawn_python, spawn_config, spawn_log) = (python.clone(), config.clone(), log.clone());
    std::thread::spawn(move || {
        let log = std::fs::File::create(&spawn_log).unwrap();
        let mut command = Command::new(&spawn_python);
        command
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&spawn_config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe and touches nothing of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap();
        let _ = started.send(child.id());
        let status = child.wait();
        eprintln!("synapse ended: {status:?}");
        loop {
            std::thread::park();
        }
    });
    running
        .recv_timeout(Duration::from_secs(30))
        .expect("synapse was not started");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers_versions(port) {
        if Instant::now() > deadline {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String = tail.lines().rev().take(30).collect::<Vec<_>>().join("\n");
            panic!("synapse did not answer on {url}; its log, last lines first:\n{tail}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Synapse {
        url,
        // No pooled connection: each test has its own runtime, and a connection kept from
        // one that ended would be dead in the next.
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
    })
}

/// Directories of earlier test binaries' Synapses whose process is gone.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("switchdesk-synapse-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn answers_versions(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /_matrix/client/versions HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

fn homeserver_yaml(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    let generous = "{per_second: 1000, burst_count: 1000}";
    format!(
        "server_name: localhost\n\
         pid_file: {dir}/homeserver.pid\n\
         listeners:\n\
         \x20 - port: {port}\n\
         \x20   bind_addresses: ['127.0.0.1']\n\
         \x20   type: http\n\
         \x20   tls: false\n\
         \x20   x_forwarded: false\n\
         \x20   resources:\n\
         \x20     - names: [client]\n\
         \x20       compress: false\n\
         database:\n\
         \x20 name: sqlite3\n\
         \x20 args:\n\
         \x20   database: {dir}/homeserver.db\n\
         media_store_path: {dir}/media\n\
         signing_key_path: {dir}/localhost.signing.key\n\
         trusted_key_servers: []\n\
         report_stats: false\n\
         enable_registration: true\n\
         enable_registration_without_verification: true\n\
         suppress_key_server_warning: true\n\
         macaroon_secret_key: switchdesk-test-macaroon\n\
         form_secret: switchdesk-test-form\n\
         presence:\n\
         \x20 enabled: false\n\
         rc_message: {generous}\n\
         rc_registration: {generous}\n\
         rc_login:\n\
         \x20 address: {generous}\n\
         \x20 account: {generous}\n\
         \x20 failed_attempts: {generous}\n\
         rc_joins:\n\
         \x20 local: {generous}\n\
         \x20 remote: {generous}\n\
         rc_invites:\n\
         \x20 per_room: {generous}\n\
         \x20 per_user: {generous}\n\
         \x20 per_issuer: {generous}\n"
    )
}

static ACCOUNTS: AtomicU32 = AtomicU32::new(0);

impl Synapse {
    fn url(&self, path: &str) -> String {
        format!("{}/_matrix/client/v3/{path}", self.url)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// A new account, `@<name><n>:localhost`.
    pub async fn register(&self, name: &str) -> Account {
        let n = ACCOUNTS.fetch_add(1, Ordering::Relaxed);
        let username = format!("{name}{n}");
        let answer = self
            .call(
                reqwest::Method::POST,
                "register",
                None,
                Some(json!({
                    "username": username,
                    "password": format!("password-of-{username}"),
                    "auth": {"type": "m.login.dummy"},
                })),
            )
            .await;
        Account {
            user_id: answer["user_id"].as_str().unwrap().to_owned(),
            token: answer["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A private room `owner` creates, inviting `invite`; its id.
    pub async fn create_room(&self, owner: &Account, invite: &[&Account]) -> String {
        let invite: Vec<&str> = invite.iter().map(|a| a.user_id.as_str()).collect();
        let answer = self
            .call(
                reqwest::Method::POST,
                "createRoom",
                Some(&owner.token),
                Some(json!({"preset": "private_chat", "invite": invite})),
            )
            .await;
        answer["room_id"].as_str().unwrap().to_owned()
    }

    pub async fn join(&self, who: &Account, room_id: &str) {
        let path = format!("join/{}", encode(room_id));
        self.call(
            reqwest::Method::POST,
            &path,
            Some(&who.token),
            Some(json!({})),
        )
        .await;
    }

    /// `who` says `body` (an `m.text`) in the room; the event's id.
    pub async fn say(&self, who: &Account, room_id: &str, body: &str) -> String {
        let n = ACCOUNTS.fetch_add(1, Ordering::Relaxed);
        let path = format!(
            "rooms/{}/send/m.room.message/test-{}-{n}",
            encode(room_id),
            std::process::id()
        );
        let answer = self
            .call(
                reqwest::Method::PUT,
                &path,
                Some(&who.token),
                Some(json!({"msgtype": "m.text", "body": body})),
            )
            .await;
        answer["event_id"].as_str().unwrap().to_owned()
    }

    /// The room's messages as `who` reads them, oldest first (the last 200).
    pub async fn messages(&self, who: &Account, room_id: &str) -> Vec<Said> {
        let path = format!(
            "rooms/{}/messages?dir=b&limit=200&filter={}",
            encode(room_id),
            encode(r#"{"types":["m.room.message"]}"#)
        );
        let answer = self
            .call(reqwest::Method::GET, &path, Some(&who.token), None)
            .await;
        let mut said: Vec<Said> = answer["chunk"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|event| {
                let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
                Said {
                    event_id: text("/event_id").unwrap_or_default().to_owned(),
                    sender: text("/sender").unwrap_or_default().to_owned(),
                    msgtype: text("/content/msgtype").unwrap_or_default().to_owned(),
                    body: text("/content/body").unwrap_or_default().to_owned(),
                    formatted_body: text("/content/formatted_body").map(str::to_owned),
                    reply_to: text("/content/m.relates_to/m.in_reply_to/event_id")
                        .map(str::to_owned),
                }
            })
            .collect();
        said.reverse();
        said
    }
}

/// `text` as one percent-encoded URL path segment or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
