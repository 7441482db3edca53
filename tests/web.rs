//! The HTTP API end to end: the real router on a real socket (`web_app`), a SQLite store in a
//! temporary directory, and a plain HTTP client that handles the session cookie by hand. The
//! attacks on it (roles, fields, cross-site writes, NUL, sign-in floods, silent sockets, values
//! FreeSWITCH would expand) are in `web_security.rs`.

#[macro_use]
mod common;
mod web_app;

use reqwest::header::{AUTHORIZATION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchdesk::cdr::{CallKind, CallRecord, Outcome};
use switchdesk::metrics;
use switchdesk::users::{self, Role};
use web_app::{expect_error, with, App, MAX_BODY};

#[tokio::test]
async fn healthz_is_public_and_reports_a_dead_database() {
    let app = App::start().await;
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    // One instance on SQLite: it leads alone, so the leader's check passes too.
    assert_eq!(body["role"], "single");
    assert!(body["instance"].is_string(), "{body}");
    let leader = app.get("/healthz/leader", None).await;
    assert_eq!(leader.status(), StatusCode::OK);

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
        ("/agent.js", "text/javascript", "/popup"),
        (
            "/manager.js",
            "text/javascript",
            "/api/reports/profitability",
        ),
        ("/admin.js", "text/javascript", "/api/phonebook/import"),
        ("/status.js", "text/javascript", "/api/status"),
        ("/i18n.js", "text/javascript", "/lang/"),
        ("/ring.js", "text/javascript", "AudioContext"),
        ("/calls.js", "text/javascript", "/api/calls?"),
        ("/faxes.js", "text/javascript", "/api/outbox"),
        ("/phonebook.js", "text/javascript", "/api/phonebook/entries"),
        ("/agentstats.js", "text/javascript", "/api/reports/agents"),
        ("/charts.js", "text/javascript", "/api/stats/history"),
        ("/incidents.js", "text/javascript", "/api/incidents"),
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
        "/i18n.js",
        "/ring.js",
        "/calls.js",
        "/faxes.js",
        "/phonebook.js",
        "/agentstats.js",
        "/charts.js",
        "/incidents.js",
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
    let app = App::start_with(|config| {
        config.service.currency = Some("RUB".to_owned().try_into().unwrap());
    })
    .await;
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
        json!({ "name": "alice", "role": "agent", "credential": "session", "language": "en", "language_chosen": false, "currency": "RUB" })
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
        json!({ "name": "alice", "role": "supervisor", "language": "en", "currency": null })
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
        json!({ "name": "wallboard", "role": "agent", "credential": "token", "language": "en", "language_chosen": false, "currency": null })
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

/// A contact the sync removed (its source no longer has it): shown by id with `removed_at`,
/// listed with `?removed=true` and not with `?removed=false`, kept removed through an agent's
/// edit (whatever the body says) and out of search, and a supervisor still deletes it.
#[tokio::test]
async fn a_contact_the_sync_removed_is_shown_listed_and_stays_removed_through_edits() {
    let app = App::start().await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;
    let created = app
        .post(
            "/api/contacts",
            Some(&ann),
            json!({"external_id": "ldap:5e1f", "first_name": "Ольга", "last_name": "Сорокина",
                   "numbers": [{"number": "+7 916 765-43-21", "kind": "mobile"}]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["removed_at"], Value::Null);
    let id = created["id"].as_i64().unwrap();
    let kept = app
        .post("/api/contacts", Some(&ann), json!({"first_name": "Kept"}))
        .await;
    let kept_id = kept.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.store
        .set_removed::<switchdesk::directory::model::Contact>(&[id], Some(1_700_000_000_000))
        .await
        .unwrap();

    let card: Value = app
        .get(&format!("/api/contacts/{id}"), Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["contact"]["removed_at"], 1_700_000_000_000_i64);
    let ids = |list: Value| -> Vec<i64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let list = |query: &'static str| {
        let app = &app;
        let ann = ann.clone();
        async move {
            let response = app.get(&format!("/api/contacts{query}"), Some(&ann)).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(ids(list("?removed=true").await), [id]);
    assert_eq!(ids(list("?removed=false").await), [kept_id]);
    assert_eq!(ids(list("").await), [id, kept_id]);

    let edited = app
        .put(
            &format!("/api/contacts/{id}"),
            Some(&ann),
            json!({"external_id": "ldap:5e1f", "first_name": "Olga", "last_name": "Sorokina",
                   "removed_at": null}),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(edited["first_name"], "Olga");
    assert_eq!(edited["removed_at"], 1_700_000_000_000_i64);
    let stored: switchdesk::directory::model::Contact = app.store.record(id).await.unwrap();
    assert_eq!(stored.removed_at, Some(1_700_000_000_000));
    let hits: Value = app
        .get("/api/contacts/search?q=olga%20sorokina", Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        hits.as_array().unwrap().iter().all(|h| h["id"] != id),
        "a removed contact is not found: {hits}"
    );
    assert_eq!(
        app.delete(&format!("/api/contacts/{id}"), Some(&sam))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
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
    let csv = "external_id,first_name,last_name,organization,phones,Job Title\n\
               c-1,Ivan,Petrov,Acme Ltd,8 (916) 555-12-34,engineer\n\
               c-2,,,Acme Ltd,+7 916 555 00 00,\n\
               c-3,Olga,Smirnova,,not a number,\n";
    let import_with = |who: String, query: &'static str| {
        let app = &app;
        async move {
            with(
                app.client
                    .post(app.url(&format!("/api/phonebook/import?kind=contacts{query}"))),
                Some(&who),
            )
            .header(CONTENT_TYPE, "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap()
        }
    };
    let import = |who: String| import_with(who, "");
    expect_error(
        import(sam.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let response = import(ada.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["saved"], 2);
    assert_eq!(report["failed"], 1);
    assert_eq!(report["failures"][0]["line"], 3);
    // Olga is saved without the number that is none, and the report says so.
    assert_eq!(report["warned"], 1);
    assert_eq!(
        report["warnings"],
        json!([{ "line": 4, "reason": "phones: no digits in \"not a number\"" }])
    );
    assert_eq!(report["ignored_columns"], json!(["Job Title"]));
    // The column map reads the column the importer does not know.
    let mapped: Value = import_with(ada.clone(), "&map=job_title%3Dnotes")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mapped["ignored_columns"], json!([]));
    assert_eq!(
        (mapped["saved"].as_i64(), mapped["updated"].as_i64()),
        (Some(2), Some(2))
    );
    let refused = import_with(ada.clone(), "&map=job_title%3Dtitle").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("column map: \"title\" is not a column"),
        "{refused}"
    );

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
    assert!(text.contains("\"engineer\""), "{text}");
    assert_eq!(text.lines().count(), 3);
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
    // An overflow to a queue that does not exist is refused, as check-config refuses it.
    let body = expect_error(
        app.put(
            "/api/queues/billing",
            Some(&admin),
            json!({"overflow": {"to": "queue", "target": "nowhere"}}),
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
            .contains("overflow queue \"nowhere\" does not exist"),
        "{body}"
    );
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
    // A queue with members is not deleted (a restart would drop them from it silently).
    let body = expect_error(
        app.delete("/api/queues/support", Some(&admin)).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("agents ann, sam are members"),
        "{body}"
    );

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

/// The forms agents, carriers and switches write one Moscow number in.
const WRITTEN_FORMS: &[&str] = &[
    "+74951234567",
    "+7 (495) 123-45-67",
    "8 (495) 123-45-67",
    "84951234567",
    "007 495 123 45 67",
    "8 10 7 495 123 45 67",
    "sip:+74951234567@carrier.example;user=phone",
    "sips:+74951234567@carrier.example:5061;transport=tls",
    "tel:+7-495-123-45-67;phone-context=example.com",
];

#[tokio::test]
async fn every_written_form_of_a_number_finds_the_same_caller() {
    let app = App::start_with(|config| {
        config.phonebook.default_region = Some("RU".into());
        config.phonebook.regions = vec!["GB".into(), "US".into()];
    })
    .await;
    app.add_user("sam", Role::Supervisor).await;
    let sam = app.login("sam").await;
    let ivan = app
        .post(
            "/api/contacts",
            Some(&sam),
            json!({"first_name": "Иван", "last_name": "Петров", "numbers": [
                {"number": "8 (495) 123-45-67", "kind": "work"},
                {"number": "1001", "kind": "work"}
            ]}),
        )
        .await;
    assert_eq!(ivan.status(), StatusCode::CREATED);
    let ivan: Value = ivan.json().await.unwrap();
    assert_eq!(ivan["numbers"][0]["number"], "+74951234567");
    // A short office number is an internal extension, and marked as one.
    assert_eq!(
        ivan["numbers"][1],
        json!({"number": "1001", "kind": "extension"})
    );
    // Someone whose number shares digits, so a fragment search alone would find two.
    let other = app
        .post(
            "/api/contacts",
            Some(&sam),
            json!({"first_name": "Carrier", "last_name": "Example", "numbers": [
                {"number": "+7 495 123-45-60"}
            ]}),
        )
        .await;
    assert_eq!(other.status(), StatusCode::CREATED);
    let blocked = app
        .post(
            "/api/blocklist",
            Some(&sam),
            json!({"match": {"type": "number", "value": "+74951234567"},
                   "direction": "inbound", "treatment": {"type": "busy"}, "reason": "test"}),
        )
        .await;
    assert_eq!(blocked.status(), StatusCode::CREATED);
    let call = |id: &str, number: &str, e164: Option<&str>| CallRecord {
        caller_number: number.into(),
        caller_e164: e164.map(str::to_owned),
        ..queue_call(id)
    };
    let mut calls = app.store.begin_calls().await.unwrap();
    let from_moscow = call("call-1", "84951234567", Some("+74951234567"));
    calls.save_call(&from_moscow, 2_000).await.unwrap();
    calls
        .save_call(&call("call-2", "1001", None), 2_000)
        .await
        .unwrap();
    calls
        .save_call(&call("call-3", "+74951234560", Some("+74951234560")), 2_000)
        .await
        .unwrap();
    calls.commit().await.unwrap();

    let ticket = app
        .post(
            "/api/tickets",
            Some(&sam),
            json!({"subject": "Printer", "caller_number": "8 (495) 123-45-67"}),
        )
        .await;
    assert_eq!(ticket.status(), StatusCode::CREATED);
    let ticket: Value = ticket.json().await.unwrap();
    assert_eq!(ticket["caller_number"], "+74951234567");

    for form in WRITTEN_FORMS {
        let q = urlencode(form);
        let tickets: Value = app
            .get(&format!("/api/tickets?caller_number={q}"), Some(&sam))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            tickets.as_array().map(Vec::len),
            Some(1),
            "tickets {form}: {tickets}"
        );
        assert_eq!(tickets[0]["id"], ticket["id"], "tickets {form}");
        let hits: Value = app
            .get(&format!("/api/contacts/search?q={q}"), Some(&sam))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(hits[0]["id"], ivan["id"], "search {form}: {hits}");
        let check: Value = app
            .get(
                &format!("/api/blocklist/check?number={q}&direction=inbound"),
                Some(&sam),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(check["blocked"], true, "check {form}: {check}");
        assert_eq!(check["number"], "+74951234567", "check {form}");
        let found: Value = app
            .get(&format!("/api/calls?caller_number={q}"), Some(&sam))
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["call-1"], "calls {form}");
    }
    // An extension-only caller is found by the extension.
    let found: Value = app
        .get("/api/calls?caller_number=1001", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["id"], "call-2", "{found}");
    let hits: Value = app
        .get("/api/contacts/search?q=1001", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["id"], ivan["id"], "{hits}");
    // A number that is no number is refused with the reason, not matched as something else.
    let body = expect_error(
        app.get("/api/calls?caller_number=12345678", Some(&sam))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("RU, GB, US"),
        "{body}"
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every queue setting can be read back, and a PATCH changes only what it names: an admin
/// form that shows some settings no longer resets the others.
#[tokio::test]
async fn queue_settings_are_read_whole_and_patched_in_part() {
    let app = App::start().await;
    app.add_user("root", Role::Admin).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("ann", Role::Agent).await;
    let admin = app.login("root").await;
    let sam = app.login("sam").await;
    let ann = app.login("ann").await;
    let full = json!({
        "strategy": "round-robin",
        "max_wait_secs": 600,
        "overflow": {"to": "extension", "target": "voicemail"},
        "exit_key": "0",
        "exit_extension": "operator",
        "wrap_up_secs": 15,
        "callbacks": {"key": "1", "attempts": 4, "dial": "sofia/gateway/pstn/{number}"},
    });
    let saved = app.put("/api/queues/support", Some(&admin), full).await;
    assert_eq!(
        saved.status(),
        StatusCode::NO_CONTENT,
        "{}",
        saved.text().await.unwrap_or_default()
    );
    let before: Value = app
        .get("/api/queues/support/settings", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["strategy"], "round-robin");
    assert_eq!(before["exit_key"], "0");
    assert_eq!(before["callbacks"]["attempts"], 4);
    assert_eq!(
        app.get("/api/queues/support/settings", Some(&ann))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let patched = app
        .patch(
            "/api/queues/support/settings",
            Some(&admin),
            json!({"max_wait_secs": 120, "callbacks": {"attempts": 2}, "exit_key": null}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let after: Value = app
        .get("/api/queues/support/settings", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    let mut expected = before.clone();
    expected["max_wait_secs"] = json!(120);
    expected["callbacks"]["attempts"] = json!(2);
    expected["exit_key"] = Value::Null;
    assert_eq!(after, expected);

    // A bad value is refused with the reason and nothing changes.
    let refused = app
        .patch(
            "/api/queues/support/settings",
            Some(&admin),
            json!({"ring_timeout_secs": 0}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let unchanged: Value = app
        .get("/api/queues/support/settings", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged, expected);
}

/// A user's language: the browser's `Accept-Language` until they choose one, then theirs on
/// every sign-in; only a language there is; an API token has none to choose.
#[tokio::test]
async fn a_user_s_language_follows_the_browser_until_they_choose_one() {
    let app = App::start().await;
    app.add_user("olga", Role::Agent).await;
    let cookie = app.login("olga").await;
    let me = |accept: &'static str| {
        let request = with(app.client.get(app.url("/api/me")), Some(&cookie));
        async move {
            let response = request
                .header("accept-language", accept)
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let asked = me("ru-RU,ru;q=0.9,en;q=0.8").await;
    assert_eq!(
        (
            asked["language"].as_str(),
            asked["language_chosen"].as_bool()
        ),
        (Some("ru"), Some(false))
    );
    assert_eq!(me("de-DE,de").await["language"], "en");

    let origin = app.base.clone();
    let choose = |language: Value| {
        let request = with(app.client.put(app.url("/api/me/language")), Some(&cookie));
        let origin = origin.clone();
        async move {
            request
                .header("origin", origin)
                .json(&json!({ "language": language }))
                .send()
                .await
                .unwrap()
        }
    };
    let chosen = choose(json!("en")).await;
    assert_eq!(chosen.status(), StatusCode::OK);
    let asked = me("ru-RU,ru").await;
    assert_eq!(
        (
            asked["language"].as_str(),
            asked["language_chosen"].as_bool()
        ),
        (Some("en"), Some(true))
    );
    assert_eq!(
        app.store.user_language("olga").await.unwrap().as_deref(),
        Some("en")
    );
    // Signing in again answers the chosen language.
    let again = app.try_login("olga", "olga-password").await;
    assert_eq!(again.json::<Value>().await.unwrap()["language"], "en");

    let unknown = expect_error(
        choose(json!("xx")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(
        unknown["error"].as_str().unwrap().contains("en, ru"),
        "{unknown}"
    );
    assert_eq!(
        app.store.user_language("olga").await.unwrap().as_deref(),
        Some("en")
    );

    assert_eq!(choose(Value::Null).await.status(), StatusCode::OK);
    assert_eq!(me("ru").await["language"], "ru");
    assert_eq!(app.store.user_language("olga").await.unwrap(), None);

    // The files themselves are public, like the scripts; an unknown one is 404.
    let index: Value = app
        .get("/lang/index.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        index,
        json!([{ "code": "en", "name": "English" }, { "code": "ru", "name": "Русский" }])
    );
    let russian: Value = app.get("/lang/ru.json", None).await.json().await.unwrap();
    assert_eq!(russian["Sign in"], "Войти");
    assert_eq!(
        app.get("/lang/xx.json", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/lang/..%2Fru.json", None).await.status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

/// A call's recording plays in the browser: whole, or a range of it (206) for seeking; only
/// for a supervisor+; only a file under `cdr.recordings_dir`, whatever path the CDR named.
#[tokio::test]
async fn a_recording_is_served_in_ranges_to_supervisors_from_its_directory_only() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("recordings");
    std::fs::create_dir_all(&dir).unwrap();
    let audio: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    std::fs::write(dir.join("call-1.wav"), &audio).unwrap();
    std::fs::write(root.path().join("outside.wav"), b"not yours").unwrap();
    let configured = dir.clone();
    let app = App::start_with(move |config| config.cdr.recordings_dir = Some(configured)).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("alice", Role::Agent).await;
    let call = |id: &str, recording: Option<String>| CallRecord {
        caller_number: "+74951234567".into(),
        caller_e164: Some("+74951234567".into()),
        agent: Some("alice".into()),
        answered_at: Some(1_500),
        recording,
        identified: "exact".into(),
        ..queue_call(id)
    };
    let mut calls = app.store.begin_calls().await.unwrap();
    let inside = dir.join("call-1.wav").display().to_string();
    let escape = format!("{}/../outside.wav", dir.display());
    for record in [
        call("call-1", Some(inside)),
        call("call-2", Some(escape)),
        call("call-3", None),
    ] {
        calls.save_call(&record, 2_000).await.unwrap();
    }
    calls.commit().await.unwrap();

    let sam = app.login("sam").await;
    let whole = app.get("/api/calls/call-1/recording", Some(&sam)).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()[CONTENT_TYPE], "audio/wav");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), audio.as_slice());
    let part = with(
        app.client.get(app.url("/api/calls/call-1/recording")),
        Some(&sam),
    )
    .header("range", "bytes=1000-1999")
    .send()
    .await
    .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/10000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &audio[1000..2000]);

    // Out of the directory, or none: 404 with the reason, nothing of the file.
    let outside = app.get("/api/calls/call-2/recording", Some(&sam)).await;
    let refused = expect_error(outside, StatusCode::NOT_FOUND, "not_found").await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("outside cdr.recordings_dir"),
        "{refused}"
    );
    expect_error(
        app.get("/api/calls/call-3/recording", Some(&sam)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.get("/api/calls/nope/recording", Some(&sam)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // An agent, or nobody, is refused before anything is read.
    let alice = app.login("alice").await;
    assert_eq!(
        app.get("/api/calls/call-1/recording", Some(&alice))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/calls/call-1/recording", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

#[tokio::test]
async fn tickets_are_searched_paged_exported_and_assigned_as_a_support_desk_would() {
    let app = App::start_with(|config| {
        config.phonebook.default_region = Some("RU".into());
    })
    .await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("bob", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("root", Role::Admin).await;
    let (ann, bob, sam, root) = (
        app.login("ann").await,
        app.login("bob").await,
        app.login("sam").await,
        app.login("root").await,
    );
    let ivan: Value = app
        .post(
            "/api/contacts",
            Some(&sam),
            json!({"first_name": "Иван", "last_name": "Петров"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let open = |body: Value| {
        let app = &app;
        let ann = ann.clone();
        async move {
            let response = app.post("/api/tickets", Some(&ann), body).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            response.json::<Value>().await.unwrap()
        }
    };
    let printer = open(json!({"subject": "Printer jam", "caller_number": "+74951234567"})).await;
    let invoice = open(json!({"subject": "=HYPERLINK(\"x\")", "contact_id": ivan["id"]})).await;
    let modem = open(json!({"subject": "Modem", "caller_number": "+74957654321"})).await;
    // Opened by hand: the one who opened it works it.
    assert_eq!(printer["assignee"], "ann");

    let list = |query: String| {
        let app = &app;
        let sam = sam.clone();
        async move {
            let response = app.get(&format!("/api/tickets?{query}"), Some(&sam)).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            let total = response.headers()["x-total-count"]
                .to_str()
                .unwrap()
                .to_owned();
            let ids: Vec<i64> = response
                .json::<Vec<Value>>()
                .await
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect();
            (ids, total)
        }
    };
    let id = |t: &Value| t["id"].as_i64().unwrap();
    // The caller's number in its national form, the contact's name in any case, a subject word.
    let q = urlencode("8 (495) 123-45-67");
    assert_eq!(
        list(format!("q={q}")).await,
        (vec![id(&printer)], "1".into())
    );
    let q = urlencode("петров");
    assert_eq!(
        list(format!("q={q}")).await,
        (vec![id(&invoice)], "1".into())
    );
    assert_eq!(list("q=modem".into()).await, (vec![id(&modem)], "1".into()));
    // Pages: one a page, newest first, the total on each.
    assert_eq!(list("limit=1".into()).await, (vec![id(&modem)], "3".into()));
    assert_eq!(
        list("limit=1&offset=2".into()).await,
        (vec![id(&printer)], "3".into())
    );
    let long = "x".repeat(201);
    let too_long = app.get(&format!("/api/tickets?q={long}"), Some(&sam)).await;
    expect_error(too_long, StatusCode::BAD_REQUEST, "bad_request").await;

    // The CSV of the filtered list, every page of it, read by a spreadsheet as data.
    let csv = app
        .get(
            &format!("/api/tickets?format=csv&limit=1&q={}", urlencode("петров")),
            Some(&sam),
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    // A byte order mark first, so that Excel reads the file as UTF-8.
    assert!(
        lines[0].starts_with("\u{feff}\"id\",\"subject\",\"status\""),
        "{csv}"
    );
    assert!(lines[1].contains("'=HYPERLINK"), "{csv}");
    // The caller in the configured number style in the list, stored as E.164.
    let listed: Value = app
        .get("/api/tickets", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    let numbered = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["caller_number"]
                .as_str()
                .is_some_and(|n| n.starts_with("+7"))
        })
        .unwrap_or_else(|| panic!("a ticket with a Russian caller in {listed}"));
    let e164 = numbered["caller_number"].as_str().unwrap();
    assert_eq!(
        numbered["caller_number_shown"]
            .as_str()
            .unwrap()
            .replace([' ', '-'], ""),
        e164,
        "{numbered}"
    );
    assert!(numbered["caller_number_shown"]
        .as_str()
        .unwrap()
        .contains(' '));
    // Sam reads Russian: the same export opens in a Russian Excel, `;` between cells.
    let russian = app
        .put("/api/me/language", Some(&sam), json!({"language": "ru"}))
        .await;
    assert_eq!(russian.status(), StatusCode::OK);
    let semicolons = app
        .get("/api/tickets?format=csv&limit=1", Some(&sam))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        semicolons.starts_with("\u{feff}\"id\";\"subject\";\"status\""),
        "{semicolons}"
    );
    // ...unless the request asks for commas; a separator that is neither is refused.
    let all = app
        .get(
            "/api/tickets?format=csv&limit=1&separator=comma",
            Some(&sam),
        )
        .await;
    let all = all.text().await.unwrap();
    assert!(all.starts_with("\u{feff}\"id\",\"subject\""), "{all}");
    assert_eq!(all.lines().count(), 4);
    let tab = app
        .get("/api/tickets?format=csv&separator=tab", Some(&sam))
        .await;
    expect_error(tab, StatusCode::BAD_REQUEST, "bad_request").await;
    // An export is a supervisor's, however the list reads for an agent.
    let exported = app.get("/api/tickets?format=csv", Some(&ann)).await;
    expect_error(exported, StatusCode::FORBIDDEN, "forbidden").await;

    // Assignment: an agent takes a ticket nobody works or hands back their own; giving a
    // ticket to somebody, or taking one from them, is a supervisor's.
    let path = |t: &Value| format!("/api/tickets/{}", id(t));
    let assign = |to: Option<&str>| json!({ "assignee": to });
    let taken = app
        .patch(&path(&printer), Some(&bob), assign(Some("bob")))
        .await;
    expect_error(taken, StatusCode::FORBIDDEN, "forbidden").await;
    let given = app
        .patch(&path(&printer), Some(&ann), assign(Some("bob")))
        .await;
    expect_error(given, StatusCode::FORBIDDEN, "forbidden").await;
    let handed_back = app.patch(&path(&printer), Some(&ann), assign(None)).await;
    assert_eq!(handed_back.status(), StatusCode::OK);
    let took = app
        .patch(&path(&printer), Some(&bob), assign(Some("bob")))
        .await;
    assert_eq!(took.json::<Value>().await.unwrap()["assignee"], "bob");
    let stranger = app
        .patch(&path(&modem), Some(&sam), assign(Some("nobody")))
        .await;
    expect_error(stranger, StatusCode::BAD_REQUEST, "bad_request").await;
    let reassigned = app
        .patch(&path(&modem), Some(&sam), assign(Some("bob")))
        .await;
    assert_eq!(reassigned.json::<Value>().await.unwrap()["assignee"], "bob");
    assert_eq!(
        list("assignee=bob".into()).await,
        (vec![id(&modem), id(&printer)], "2".into())
    );
    assert_eq!(
        list("assignee=ann".into()).await,
        (vec![id(&invoice)], "1".into())
    );
    let audit: Value = app
        .get("/api/audit?kind=ticket", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    let assigns: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "assign")
        .collect();
    assert_eq!(assigns.len(), 3, "{audit}");
    assert_eq!(assigns[0]["actor"], "sam");
    assert_eq!(assigns[0]["before"], json!({"assignee": "ann"}));
    assert_eq!(assigns[0]["after"], json!({"assignee": "bob"}));
}

#[tokio::test]
async fn tickets_climb_the_support_lines_with_a_reason_and_report_their_sla() {
    let app = App::start_with(|config| {
        config.tickets.lines = ["First".into(), "Second".into(), "Third".into()];
        config.tickets.categories[3].first_response_seconds = Some([60, 120, 300]);
        config.tickets.categories[3].resolution_minutes = Some([30, 60, 120]);
    })
    .await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("bob", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("meg", Role::Manager).await;
    let (ann, bob, sam, meg) = (
        app.login("ann").await,
        app.login("bob").await,
        app.login("sam").await,
        app.login("meg").await,
    );
    // An unknown category is refused with the ones there are.
    let unknown = app
        .post(
            "/api/tickets",
            Some(&ann),
            json!({"subject": "x", "category": "sales"}),
        )
        .await;
    let refused = expect_error(unknown, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        refused.to_string().contains("information, configuration"),
        "{refused}"
    );
    let opened = app
        .post(
            "/api/tickets",
            Some(&ann),
            json!({"subject": "Core switch down", "category": "emergency", "priority": 1}),
        )
        .await;
    assert_eq!(opened.status(), StatusCode::CREATED);
    let ticket: Value = opened.json().await.unwrap();
    assert_eq!(
        (ticket["line"].as_i64(), ticket["category"].as_str()),
        (Some(1), Some("emergency"))
    );
    // Emergency at priority 1: 60 s to the first response, 30 minutes to the resolution.
    let created = ticket["created_at"].as_i64().unwrap();
    assert_eq!(
        ticket["first_response_due"].as_i64(),
        Some(created + 60_000)
    );
    assert_eq!(
        ticket["resolution_due"].as_i64(),
        Some(created + 30 * 60_000)
    );
    let path = format!("/api/tickets/{}", ticket["id"]);
    let escalate = format!("{path}/escalate");

    // Without signing in, or without a reason, nothing moves; bob may not escalate ann's.
    let anonymous = app.post(&escalate, None, json!({"reason": "x"})).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let blank = app
        .post(&escalate, Some(&ann), json!({"reason": " "}))
        .await;
    expect_error(blank, StatusCode::BAD_REQUEST, "bad_request").await;
    let not_bob = app
        .post(&escalate, Some(&bob), json!({"reason": "x"}))
        .await;
    expect_error(not_bob, StatusCode::FORBIDDEN, "forbidden").await;
    let missing = app
        .post(
            "/api/tickets/999999/escalate",
            Some(&sam),
            json!({"reason": "x"}),
        )
        .await;
    expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    // Ann escalates her own, sam (a supervisor) any; line 3 goes no higher.
    let second = app
        .post(
            &escalate,
            Some(&ann),
            json!({"reason": "needs the network team"}),
        )
        .await;
    assert_eq!(second.json::<Value>().await.unwrap()["line"], 2);
    let third = app
        .post(&escalate, Some(&sam), json!({"reason": "vendor bug"}))
        .await;
    assert_eq!(third.json::<Value>().await.unwrap()["line"], 3);
    let top = app
        .post(&escalate, Some(&sam), json!({"reason": "higher"}))
        .await;
    let top = expect_error(top, StatusCode::CONFLICT, "conflict").await;
    assert!(top.to_string().contains("line 3 (Third)"), "{top}");
    // The history holds both steps with who and why.
    let shown: Value = app.get(&path, Some(&ann)).await.json().await.unwrap();
    let steps: Vec<(Value, Value, Value)> = shown["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].clone(), n["line"].clone(), n["author"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("escalation"), json!(2), json!("ann")),
            (json!("escalation"), json!(3), json!("sam")),
        ]
    );
    assert_eq!(shown["notes"][0]["body"], "needs the network team");

    // A new category through PATCH: checked, and the deadlines follow it.
    let wrong = app
        .patch(&path, Some(&sam), json!({"category": "nope"}))
        .await;
    expect_error(wrong, StatusCode::BAD_REQUEST, "bad_request").await;
    let moved: Value = app
        .patch(&path, Some(&sam), json!({"category": "maintenance"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["category"], "maintenance");
    assert_eq!(
        moved["resolution_due"].as_i64(),
        Some(created + 8 * 60 * 60_000)
    );

    // The report: a manager's, JSON and CSV.
    let agents_may_not = app.get("/api/reports/sla", Some(&sam)).await;
    expect_error(agents_may_not, StatusCode::FORBIDDEN, "forbidden").await;
    let report: Value = app
        .get("/api/reports/sla?from=2000-01-01", Some(&meg))
        .await
        .json()
        .await
        .unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["category"], "maintenance");
    assert_eq!(rows[0]["category_name"], "Maintenance");
    assert_eq!(
        (rows[0]["line"].as_i64(), rows[0]["line_name"].as_str()),
        (Some(3), Some("Third"))
    );
    assert_eq!(rows[0]["tickets"], 1);
    assert_eq!(rows[0]["within_sla_percent"], 100.0);
    let csv = app
        .get(
            "/api/reports/sla?from=2000-01-01&format=csv&separator=comma",
            Some(&meg),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains(r#""category","category_name","line","line_name","tickets""#),
        "{csv}"
    );
    assert!(
        csv.contains(r#""maintenance","Maintenance","3","Third","1","1","1","1","100.0""#),
        "{csv}"
    );
    // The tickets' export carries the line and the category.
    let exported = app
        .get("/api/tickets?format=csv&separator=comma", Some(&sam))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        exported.contains(r#""queue","line","category","created_at""#),
        "{exported}"
    );
    assert!(exported.contains(r#""3","maintenance""#), "{exported}");
    let backwards = app
        .get("/api/reports/sla?from=2026-02-01&to=2026-01-01", Some(&meg))
        .await;
    expect_error(backwards, StatusCode::BAD_REQUEST, "bad_request").await;
}

/// A queue call as the API tests store it: answered, through `support`, nobody identified.
fn queue_call(id: &str) -> CallRecord {
    CallRecord {
        id: id.into(),
        kind: CallKind::Queue,
        outcome: Outcome::Answered,
        caller_number: String::new(),
        caller_e164: None,
        caller_name: String::new(),
        destination: "7000".into(),
        queue: Some("support".into()),
        agent: None,
        started_at: 1_000,
        answered_at: None,
        ended_at: 2_000,
        wait_secs: 0,
        talk_secs: 0,
        hangup_cause: "NORMAL_CLEARING".into(),
        recording: None,
        identified: "unknown".into(),
        contact_id: None,
        organization_id: None,
        vip: false,
        ticket_id: None,
        rating: None,
    }
}

/// Callers' ratings over the API: the report per agent, queue or organization is a manager's
/// (JSON and CSV), the agent report carries each agent's ratings, and a low rating's flag
/// lists its ticket and is cleared only by a manager.
#[tokio::test]
async fn ratings_are_a_managers_report_and_a_low_ones_flag_a_managers_to_clear() {
    let app = App::start().await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("meg", Role::Manager).await;
    let (sam, meg) = (app.login("sam").await, app.login("meg").await);
    let rules = switchdesk::tickets::TicketRules::default();
    for (id, number, rating) in [("call-1", "+15550001", 4), ("call-2", "+15550002", 1)] {
        let mut call = CallRecord {
            caller_number: number.into(),
            caller_e164: Some(number.into()),
            agent: Some("alice".into()),
            answered_at: Some(1_500),
            rating: Some(rating),
            ..queue_call(id)
        };
        let mut tx = app.store.begin_calls().await.unwrap();
        switchdesk::tickets::file_call(&mut tx, &mut call, &[], &rules, false, 3_000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    let path = "/api/reports/ratings?from=0&to=100000&by=queue";
    let supervisors_may_not = app.get(path, Some(&sam)).await;
    expect_error(supervisors_may_not, StatusCode::FORBIDDEN, "forbidden").await;
    let report: Value = app.get(path, Some(&meg)).await.json().await.unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["name"], "support");
    assert_eq!(rows[0]["ratings"], 2);
    assert_eq!(rows[0]["average_rating"], 2.5);
    assert_eq!(rows[0]["scores"], json!([1, 0, 0, 1, 0]));
    let csv = app
        .get(&format!("{path}&format=csv&separator=comma"), Some(&meg))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains(r#""name","from","to","ratings","average_rating","rated_1""#),
        "{csv}"
    );
    let wrong = app
        .get("/api/reports/ratings?from=0&to=100000&by=team", Some(&meg))
        .await;
    expect_error(wrong, StatusCode::BAD_REQUEST, "bad_request").await;
    let agents: Value = app
        .get("/api/reports/agents?from=0&to=100000", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(agents["agents"][0]["agent"], "alice", "{agents}");
    assert_eq!(agents["agents"][0]["ratings"], 2);
    assert_eq!(agents["agents"][0]["average_rating"], 2.5);

    // The 1 flagged its ticket: listed by the flag, cleared by a manager only.
    let flagged: Value = app
        .get("/api/tickets?low_rating=true", Some(&sam))
        .await
        .json()
        .await
        .unwrap();
    let flagged = flagged.as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(
        (&flagged[0]["rating"], &flagged[0]["low_rating"]),
        (&json!(1), &json!(true))
    );
    let ticket = format!("/api/tickets/{}", flagged[0]["id"]);
    let refused = app
        .patch(&ticket, Some(&sam), json!({"low_rating": false}))
        .await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let raised = app
        .patch(&ticket, Some(&meg), json!({"low_rating": true}))
        .await;
    expect_error(raised, StatusCode::BAD_REQUEST, "bad_request").await;
    let cleared: Value = app
        .patch(&ticket, Some(&meg), json!({"low_rating": false}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&cleared["rating"], &cleared["low_rating"]),
        (&json!(1), &json!(false))
    );
    let exported = app
        .get("/api/tickets?format=csv&separator=comma", Some(&sam))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        exported.contains(r#""sla_breached","rating","low_rating""#),
        "{exported}"
    );
}
