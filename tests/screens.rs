//! The screens in a real headless Chromium against `switchdesk demo` (the binary, with its
//! simulated switch and synthetic callers): a supervisor watches waiting callers appear and
//! move up on the wallboard; an agent goes available and the pop-up with the caller's
//! organization appears while the phone rings; a user without the supervisor role cannot open
//! the wallboard's feed; an admin imports a phone-book file with a column map and sees the
//! rows saved with a warning and the columns not read, and opens the audit log to find a
//! supervisor's change and a failed sign-in. Screenshots are kept under
//! `target/screenshots/`.

mod browser;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use browser::Browser;
use serde_json::Value;

const PASSWORD: &str = "screens-test-password";

struct Demo {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchdesk"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHDESK_") {
            command.env_remove(key);
        }
    }
    command
}

/// `switchdesk demo` on its own database with a supervisor, an agent user for the demo's
/// agent1001, a viewer who is only an agent, and an admin.
async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = binary()
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--seed",
            "3",
        ])
        .args(["--callers-per-minute", "90", "--database", &url])
        .env("SWITCHDESK_DEMO__PASSWORD", PASSWORD)
        .env("SWITCHDESK_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let demo = Demo {
        child,
        base,
        _dir: dir,
    };
    let mut up = false;
    for _ in 0..600 {
        if let Ok(response) = reqwest::get(format!("{}/healthz", demo.base)).await {
            if response.status().is_success() {
                up = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "switchdesk demo did not come up");
    // The demo seeds only a database of its own: the test's users join it once it runs.
    for (name, role) in [
        ("sue", "supervisor"),
        ("agent1001", "agent"),
        ("viewer", "agent"),
        ("ada", "admin"),
    ] {
        let mut child = binary()
            .args(["user", "add", name, "--role", role, "--password-stdin"])
            .env("SWITCHDESK_DATABASE__URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    demo
}

/// The waiting callers the wallboard shows: (call, position).
async fn waiting(browser: &mut Browser) -> Vec<(String, u64)> {
    let rows = browser
        .eval(
            "[...document.querySelectorAll('#wallboard [data-call]')].map(row => \
             [row.dataset.call, Number(row.querySelector('.position')?.textContent.replace(/\\D/g, '') || 0)])",
        )
        .await;
    rows.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or("").to_owned(),
                pair[1].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screens_in_a_real_browser() {
    let Some(mut supervisor) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;

    // A supervisor: waiting callers appear on the wallboard, then move up.
    supervisor.sign_in(&demo.base, "sue", PASSWORD).await;
    supervisor
        .wait_for(
            "the wallboard, live",
            "document.body.dataset.view === 'wallboard' && document.body.dataset.feed === 'connected' \
             && !!document.querySelector('#wallboard section[data-queue=\"support\"]')",
        )
        .await;
    supervisor
        .wait_for_up_to(
            "three waiting callers",
            "document.querySelectorAll('#wallboard [data-call]').length >= 3",
            Duration::from_secs(90),
        )
        .await;
    supervisor.screenshot("wallboard").await;
    let before = waiting(&mut supervisor).await;
    let (call, position) = before
        .iter()
        .max_by_key(|(_, position)| *position)
        .cloned()
        .unwrap();
    assert!(position >= 2, "{before:?}");
    let moved = format!(
        "(() => {{ const row = document.querySelector('#wallboard [data-call=\"{call}\"]'); \
         if (!row) return 'gone'; \
         const now = Number(row.querySelector('.position').textContent.replace(/\\D/g, '')); \
         return now < {position} ? 'moved' : false; }})()"
    );
    let how = supervisor
        .wait_for_up_to("the caller to move up", &moved, Duration::from_secs(150))
        .await;
    assert!(matches!(how.as_str(), Some("moved" | "gone")), "{how}");
    let figures = supervisor
        .eval("document.querySelector('[data-counter=\"offered\"]')?.textContent ?? ''")
        .await;
    assert!(
        figures
            .as_str()
            .is_some_and(|t| t.chars().any(|c| c.is_ascii_digit())),
        "offered shows a number: {figures}"
    );
    supervisor.screenshot("wallboard-moved").await;
    drop(supervisor);

    // An agent: available, and the pop-up with the caller's organization while it rings.
    let mut agent = Browser::launch().await.unwrap();
    agent.sign_in(&demo.base, "agent1001", PASSWORD).await;
    agent
        .wait_for(
            "the agent desktop, live",
            "document.body.dataset.view === 'agent' && document.body.dataset.feed === 'connected' \
             && !!document.querySelector('#go-available')",
        )
        .await;
    agent
        .eval("document.querySelector('#go-break').click(); true")
        .await;
    agent
        .wait_for(
            "on break",
            "/break/i.test(document.querySelector('#agent-status')?.textContent ?? '')",
        )
        .await;
    agent
        .eval("document.querySelector('#go-available').click(); true")
        .await;
    let popup = agent
        .wait_for_up_to(
            "the pop-up with an organization while the phone rings",
            "(() => { const popup = document.querySelector('#popup'); \
             const org = popup?.querySelector('.organization')?.textContent.trim(); \
             const activity = document.querySelector('#agent-activity')?.textContent ?? ''; \
             return popup && !popup.hidden && org && /ring/i.test(activity) \
               ? { org, number: popup.querySelector('.caller-number')?.textContent ?? '' } : false; })()",
            Duration::from_secs(180),
        )
        .await;
    agent.screenshot("agent-popup").await;
    assert!(
        popup["org"].as_str().is_some_and(|o| !o.is_empty()),
        "{popup}"
    );
    drop(agent);

    // A viewer who is only an agent: the wallboard's feed is refused, the page says so.
    let mut viewer = Browser::launch().await.unwrap();
    viewer.sign_in(&demo.base, "viewer", PASSWORD).await;
    viewer
        .wait_for("signed in", "!!document.body.dataset.view")
        .await;
    let opened: Value = viewer
        .eval(
            "new Promise(done => { \
               const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?feed=wallboard'); \
               ws.onopen = () => { ws.close(); done('open'); }; \
               ws.onclose = () => done('refused'); \
               setTimeout(() => done('timeout'), 10000); })",
        )
        .await;
    assert_eq!(opened, "refused");
    let view = viewer.eval("document.body.dataset.view").await;
    assert_ne!(view, "wallboard");
    viewer.goto(&format!("{}/#wallboard", demo.base)).await;
    viewer
        .wait_for("signed in again", "!!document.body.dataset.view")
        .await;
    assert_eq!(
        viewer
            .eval("document.querySelectorAll('#wallboard [data-call]').length")
            .await,
        0
    );
    assert_ne!(viewer.eval("document.body.dataset.view").await, "wallboard");
    viewer.screenshot("viewer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_screen_imports_with_a_column_map_and_shows_warnings() {
    let Some(mut admin) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    admin.sign_in(&demo.base, "ada", PASSWORD).await;
    admin.goto(&format!("{}/#admin", demo.base)).await;
    admin
        .wait_for(
            "the admin view with the import form",
            "document.body.dataset.view === 'admin' && !!document.querySelector('#import-map')",
        )
        .await;
    admin
        .eval(
            "(() => { \
               const text = 'Kennung,Vorname,last_name,phones,Job Title\\n' \
                 + 'k-1,Ivan,Petrov,+7 916 123-45-67; 12345678,engineer\\n' \
                 + 'k-2,Anna,Smirnova,+7 495 765-43-21,manager\\n'; \
               const files = new DataTransfer(); \
               files.items.add(new File([text], 'people.csv', { type: 'text/csv' })); \
               document.querySelector('#import-file').files = files.files; \
               document.querySelector('#import-kind').value = 'contacts'; \
               document.querySelector('#import-map').value = 'kennung=external_id, vorname=first_name'; \
               document.querySelector('#import-submit').click(); \
               return true; })()",
        )
        .await;
    let shown = admin
        .wait_for(
            "the report with its warning and the columns not read",
            "(() => { const rows = [...document.querySelectorAll('#import-warnings tbody tr')]; \
               const ignored = document.querySelector('#import-ignored')?.textContent ?? ''; \
               return rows.length && ignored \
                 ? { warnings: rows.map(row => [...row.cells].map(c => c.textContent)), ignored } \
                 : false; })()",
        )
        .await;
    admin
        .eval("document.querySelector('#admin-phonebook').scrollIntoView(); true")
        .await;
    admin.screenshot("admin-import").await;
    assert_eq!(shown["warnings"][0][0], "2", "{shown}");
    assert!(
        shown["warnings"][0][1]
            .as_str()
            .is_some_and(|w| w.starts_with("phones: \"12345678\" is not a valid number")),
        "{shown}"
    );
    assert_eq!(
        shown["warnings"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    assert!(
        shown["ignored"]
            .as_str()
            .is_some_and(|i| i.ends_with(": Job Title")),
        "{shown}"
    );

    // Editing a queue fills in every stored setting, so saving it resets none.
    admin
        .wait_for(
            "the queue list",
            "!!document.querySelector('#queues-list [data-queue] button')",
        )
        .await;
    admin
        .eval("document.querySelector('#queues-list [data-queue] button').click(); true")
        .await;
    let settings = admin
        .wait_for(
            "the queue's stored settings in the form",
            "(() => { const text = document.querySelector('#queue-settings').value;                return text.includes('callbacks') ? JSON.parse(text) : false; })()",
        )
        .await;
    for key in [
        "prompts",
        "callbacks",
        "overflow",
        "max_wait_secs",
        "ring_timeout_secs",
    ] {
        assert!(settings.get(key).is_some(), "{key} missing: {settings}");
    }

    // An admin disables a user from the users list.
    admin
        .wait_for(
            "the users list",
            "!!document.querySelector('#users-list tr[data-user=\"viewer\"] button[data-action=\"access\"]')",
        )
        .await;
    admin
        .eval("document.querySelector('#users-list tr[data-user=\"viewer\"] button[data-action=\"access\"]').click(); true")
        .await;
    admin
        .wait_for(
            "viewer shown disabled",
            "document.querySelector('#users-list tr[data-user=\"viewer\"]')?.cells[2]?.textContent === 'disabled'",
        )
        .await;
    let signed_in = reqwest::Client::new()
        .post(format!("{}/api/login", demo.base))
        .json(&serde_json::json!({"name": "viewer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// An admin opens the audit log and sees a change a supervisor made before (a number
/// blocked over the API) with who made it, and a failed sign-in; the kind filter narrows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_screen_shows_the_audit_log() {
    let Some(mut admin) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    let client = reqwest::Client::new();
    let login = format!("{}/api/login", demo.base);
    let failed = client
        .post(&login)
        .json(&serde_json::json!({"name": "mallory", "password": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), reqwest::StatusCode::UNAUTHORIZED);
    let signed_in = client
        .post(&login)
        .json(&serde_json::json!({"name": "sue", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::OK);
    let cookie = signed_in.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let blocked = client
        .post(format!("{}/api/blocklist", demo.base))
        .header(reqwest::header::COOKIE, cookie)
        .header(reqwest::header::ORIGIN, &demo.base)
        .json(&serde_json::json!({
            "match": {"type": "number", "value": "+7 916 000-00-99"},
            "direction": "inbound",
            "reason": "audit screen test",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), reqwest::StatusCode::CREATED);

    admin.sign_in(&demo.base, "ada", PASSWORD).await;
    admin.goto(&format!("{}/#admin", demo.base)).await;
    let row = admin
        .wait_for(
            "the blocklist change in the audit log",
            "(() => { const row = document.querySelector('#audit-table tr[data-kind=\"blocklist\"][data-action=\"create\"]'); \
               return row ? [...row.cells].map(c => c.textContent) : false; })()",
        )
        .await;
    admin
        .eval("document.querySelector('#admin-audit').scrollIntoView(); true")
        .await;
    admin.screenshot("admin-audit").await;
    assert_eq!(row[1], "sue (supervisor)", "{row}");
    assert!(
        row[5]
            .as_str()
            .is_some_and(|c| c.contains("+79160000099") && c.contains("audit screen test")),
        "{row}"
    );
    assert!(
        admin
            .eval("!!document.querySelector('#audit-table tr[data-action=\"login_failed\"][data-target=\"mallory\"]')")
            .await
            .as_bool()
            .unwrap_or(false),
        "the failed sign-in is listed"
    );

    // The kind filter: only sign-ins, ada's own among them.
    admin
        .eval(
            "document.querySelector('#audit-kind').value = 'login'; \
             document.querySelector('#audit-submit').click(); true",
        )
        .await;
    let kinds = admin
        .wait_for(
            "only sign-ins listed",
            "(() => { const rows = [...document.querySelectorAll('#audit-table tbody tr')]; \
               const kinds = [...new Set(rows.map(r => r.dataset.kind))]; \
               return kinds.length === 1 && rows.some(r => r.dataset.target === 'ada') ? kinds : false; })()",
        )
        .await;
    assert_eq!(kinds, serde_json::json!(["login"]));
}
