//! The audit log end to end, on both backends: one change of each kind through the HTTP API
//! leaves one row saying who, what, to which record, before → after; sign-ins, failed
//! sign-ins and sign-outs leave rows with the address; refused changes leave none; no
//! password, hash or token ever reaches a row; `GET /api/audit` is for admins, filters and
//! pages.

#[macro_use]
mod common;
mod web_app;

use common::{TestDb, TestDbRef};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchdesk::users::Role;
use web_app::{expect_error, with, App};

on_both_backends!(
    every_kind_of_change_leaves_one_row_without_secrets,
    the_audit_log_is_for_admins_and_filters_and_pages,
);

/// The entries `GET /api/audit?{query}` answers, newest first.
async fn audit(app: &App, admin: &str, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/audit?{query}"), Some(admin)).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let body: Value = response.json().await.unwrap();
    body["entries"].as_array().cloned().unwrap()
}

/// The one row of `kind`/`action` on `target`.
fn row<'a>(rows: &'a [Value], kind: &str, action: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == kind && r["action"] == action && r["target"] == target)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind} {action} of {target:?} in {rows:#?}"
    );
    found[0]
}

/// Asserts a response's status, showing its body otherwise; returns the JSON body (or null).
async fn ok(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn every_kind_of_change_leaves_one_row_without_secrets(db: TestDbRef) {
    let app = App::on(&db.store, &db.url).await;
    app.add_user("root", Role::Admin).await;
    app.add_user("mia", Role::Manager).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("ann", Role::Agent).await;

    // Sign-ins: a wrong password first (nobody is known: `-`, the name tried as the target).
    let refused = app.try_login("root", "not-the-password").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let root = app.login("root").await;
    let mia = app.login("mia").await;
    let sam = app.login("sam").await;
    let ann = app.login("ann").await;

    // Users.
    let created = json!({"name": "bob", "role": "agent", "password": "bob-first-secret"});
    ok(
        app.post("/api/users", Some(&root), created).await,
        StatusCode::CREATED,
    )
    .await;
    let promote = json!({"role": "supervisor"});
    ok(
        app.patch("/api/users/bob", Some(&root), promote).await,
        StatusCode::OK,
    )
    .await;
    let reset = json!({"password": "bob-second-secret"});
    let path = "/api/users/bob/password";
    ok(
        app.post(path, Some(&root), reset).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    ok(
        app.delete("/api/users/bob", Some(&root)).await,
        StatusCode::NO_CONTENT,
    )
    .await;

    // Tokens; an admin token then acts as `token:deploy`.
    let token = json!({"name": "deploy", "role": "admin"});
    let token = ok(
        app.post("/api/tokens", Some(&root), token).await,
        StatusCode::CREATED,
    )
    .await;
    let secret = token["token"].as_str().unwrap().to_owned();

    // Queues and agents (the switchboard's settings, recorded once its writer committed).
    let support = json!({"max_wait_secs": 300});
    let put = app.put("/api/queues/support", Some(&secret), support).await;
    ok(put, StatusCode::NO_CONTENT).await;
    let patch = json!({"max_wait_secs": 120});
    let path = "/api/queues/support/settings";
    ok(app.patch(path, Some(&root), patch).await, StatusCode::OK).await;
    ok(
        app.put("/api/queues/sales", Some(&root), json!({})).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    ok(
        app.delete("/api/queues/sales", Some(&root)).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    let agent = json!({"endpoint": "user/1001@default", "queues": [{"queue": "support"}]});
    let put = app.put("/api/agents/ann", Some(&root), agent).await;
    ok(put, StatusCode::NO_CONTENT).await;
    let agent = json!({"endpoint": "user/1002@default", "queues": [{"queue": "support"}]});
    let put = app.put("/api/agents/ann", Some(&root), agent).await;
    ok(put, StatusCode::NO_CONTENT).await;
    ok(
        app.delete("/api/agents/ann", Some(&root)).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    ok(
        app.delete("/api/tokens/deploy", Some(&root)).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    // A refused change leaves no row.
    let missing = app.delete("/api/queues/nowhere", Some(&root)).await;
    expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;

    // Blocklist.
    let entry = json!({"match": {"type": "number", "value": "+7 916 000-00-01"},
                       "direction": "inbound", "reason": "spam"});
    let entry = ok(
        app.post("/api/blocklist", Some(&sam), entry).await,
        StatusCode::CREATED,
    )
    .await;
    let block = entry["id"].as_i64().unwrap();
    let mut changed = entry.clone();
    changed["reason"] = json!("robocalls");
    let path = format!("/api/blocklist/{block}");
    ok(app.put(&path, Some(&sam), changed).await, StatusCode::OK).await;
    ok(app.delete(&path, Some(&sam)).await, StatusCode::NO_CONTENT).await;

    // Phone book: an organization, a contact and an asset, created, edited, deleted.
    let org = json!({"name": "Acme Ltd"});
    let org = ok(
        app.post("/api/organizations", Some(&sam), org).await,
        StatusCode::CREATED,
    )
    .await;
    let org_id = org["id"].as_i64().unwrap();
    let renamed = json!({"name": "Acme Group"});
    let path = format!("/api/organizations/{org_id}");
    ok(app.put(&path, Some(&sam), renamed).await, StatusCode::OK).await;
    let contact = json!({"first_name": "Ivan", "organization_id": org_id});
    let contact = ok(
        app.post("/api/contacts", Some(&ann), contact).await,
        StatusCode::CREATED,
    )
    .await;
    let contact_id = contact["id"].as_i64().unwrap();
    let path = format!("/api/contacts/{contact_id}");
    let edit = json!({"first_name": "Ivan", "last_name": "Petrov", "organization_id": org_id});
    ok(app.put(&path, Some(&ann), edit).await, StatusCode::OK).await;
    ok(app.delete(&path, Some(&sam)).await, StatusCode::NO_CONTENT).await;
    let asset = json!({"name": "Printer", "kind": "printer", "owner": {"type": "organization", "id": org_id}});
    let asset = ok(
        app.post("/api/assets", Some(&ann), asset).await,
        StatusCode::CREATED,
    )
    .await;
    let asset_id = asset["id"].as_i64().unwrap();
    let path = format!("/api/assets/{asset_id}");
    ok(app.delete(&path, Some(&sam)).await, StatusCode::NO_CONTENT).await;
    let csv = "external_id,first_name,last_name\nc-1,Olga,Smirnova\nc-2,Anna,Ivanova\n";
    let imported = with(
        app.client
            .post(app.url("/api/phonebook/import?kind=contacts")),
        Some(&root),
    )
    .header(CONTENT_TYPE, "text/csv")
    .body(csv)
    .send()
    .await
    .unwrap();
    ok(imported, StatusCode::OK).await;

    // Billing rates.
    let rate = |cents: i64| json!({"hourly_rate_cents": cents});
    let path = "/api/billing/agents/ann";
    ok(app.put(path, Some(&mia), rate(3_000)).await, StatusCode::OK).await;
    ok(app.put(path, Some(&mia), rate(3_500)).await, StatusCode::OK).await;
    let fee = json!({"monthly_fee_cents": 50_000});
    let path = format!("/api/billing/organizations/{org_id}");
    ok(app.put(&path, Some(&mia), fee).await, StatusCode::OK).await;

    // A ticket's status; a change of subject alone is not a status change.
    let ticket = json!({"subject": "Printer jam"});
    let ticket = ok(
        app.post("/api/tickets", Some(&ann), ticket).await,
        StatusCode::CREATED,
    )
    .await;
    let ticket_id = ticket["id"].as_i64().unwrap();
    let path = format!("/api/tickets/{ticket_id}");
    let subject = json!({"subject": "Printer jam, 2nd floor"});
    ok(app.patch(&path, Some(&ann), subject).await, StatusCode::OK).await;
    let resolve = json!({"status": "resolved"});
    ok(app.patch(&path, Some(&ann), resolve).await, StatusCode::OK).await;

    // Signing out.
    ok(
        app.post("/api/logout", Some(&sam), json!({})).await,
        StatusCode::OK,
    )
    .await;

    let rows = audit(&app, &root, "limit=1000").await;
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let failed = row(&rows, "login", "login_failed", "root");
    assert_eq!(failed["actor"], "-");
    assert_eq!(failed["peer"], "127.0.0.1");
    let signed_in = row(&rows, "login", "login", "mia");
    assert_eq!(signed_in["actor"], "mia");
    assert_eq!(signed_in["actor_role"], "manager");
    assert_eq!(signed_in["peer"], "127.0.0.1");
    assert_eq!(row(&rows, "login", "logout", "sam")["actor"], "sam");

    let user = row(&rows, "user", "create", "bob");
    assert_eq!(user["actor"], "root");
    assert_eq!(user["actor_role"], "admin");
    assert_eq!(user["before"], Value::Null);
    assert_eq!(user["after"]["role"], "agent");
    let promoted = row(&rows, "user", "update", "bob");
    assert_eq!(promoted["before"]["role"], "agent");
    assert_eq!(promoted["after"]["role"], "supervisor");
    let reset = row(&rows, "user", "password_reset", "bob");
    assert_eq!(
        (&reset["before"], &reset["after"]),
        (&Value::Null, &Value::Null)
    );
    let deleted = row(&rows, "user", "delete", "bob");
    assert_eq!(deleted["before"]["role"], "supervisor");
    assert_eq!(deleted["after"], Value::Null);

    assert_eq!(
        row(&rows, "token", "create", "deploy")["after"]["role"],
        "admin"
    );
    let revoked = row(&rows, "token", "revoke", "deploy");
    assert_eq!(revoked["before"]["revoked"], false);
    assert_eq!(revoked["after"]["revoked"], true);

    let queue = row(&rows, "queue", "create", "support");
    assert_eq!(queue["actor"], "token:deploy");
    assert_eq!(queue["actor_role"], "admin");
    assert_eq!(queue["after"]["max_wait_secs"], 300);
    let patched = row(&rows, "queue", "update", "support");
    assert_eq!(patched["actor"], "root");
    assert_eq!(patched["before"]["max_wait_secs"], 300);
    assert_eq!(patched["after"]["max_wait_secs"], 120);
    assert_eq!(
        row(&rows, "queue", "delete", "sales")["before"]["name"],
        "sales"
    );
    assert!(rows.iter().all(|r| r["target"] != "nowhere"), "{rows:#?}");

    let agent = row(&rows, "agent", "create", "ann");
    assert_eq!(agent["after"]["endpoint"], "user/1001@default");
    let moved = row(&rows, "agent", "update", "ann");
    assert_eq!(moved["before"]["endpoint"], "user/1001@default");
    assert_eq!(moved["after"]["endpoint"], "user/1002@default");
    assert_eq!(
        row(&rows, "agent", "delete", "ann")["before"]["endpoint"],
        "user/1002@default"
    );

    let block = block.to_string();
    let blocked = row(&rows, "blocklist", "create", &block);
    assert_eq!(blocked["actor"], "sam");
    assert_eq!(blocked["after"]["match"]["value"], "+79160000001");
    let reworded = row(&rows, "blocklist", "update", &block);
    assert_eq!(reworded["before"]["reason"], "spam");
    assert_eq!(reworded["after"]["reason"], "robocalls");
    assert_eq!(
        row(&rows, "blocklist", "delete", &block)["before"]["reason"],
        "robocalls"
    );

    let org = org_id.to_string();
    assert_eq!(
        row(&rows, "organization", "create", &org)["after"]["name"],
        "Acme Ltd"
    );
    let renamed = row(&rows, "organization", "update", &org);
    assert_eq!(renamed["before"]["name"], "Acme Ltd");
    assert_eq!(renamed["after"]["name"], "Acme Group");
    let contact = contact_id.to_string();
    assert_eq!(row(&rows, "contact", "create", &contact)["actor"], "ann");
    let edited = row(&rows, "contact", "update", &contact);
    assert_eq!(edited["before"]["last_name"], "");
    assert_eq!(edited["after"]["last_name"], "Petrov");
    assert_eq!(row(&rows, "contact", "delete", &contact)["actor"], "sam");
    let asset = asset_id.to_string();
    assert_eq!(
        row(&rows, "asset", "create", &asset)["after"]["name"],
        "Printer"
    );
    assert_eq!(
        row(&rows, "asset", "delete", &asset)["before"]["kind"],
        "printer"
    );
    let import = row(&rows, "contact", "import", "contacts");
    assert_eq!(import["after"]["saved"], 2);
    assert_eq!(import["after"]["created"], 2);

    let rate = row(&rows, "billing_rate", "create", "agent:ann");
    assert_eq!(rate["actor"], "mia");
    assert_eq!(rate["after"]["hourly_rate_cents"], 3_000);
    let raised = row(&rows, "billing_rate", "update", "agent:ann");
    assert_eq!(raised["before"]["hourly_rate_cents"], 3_000);
    assert_eq!(raised["after"]["hourly_rate_cents"], 3_500);
    let fee = row(
        &rows,
        "billing_rate",
        "create",
        &format!("organization:{org_id}"),
    );
    assert_eq!(fee["after"]["monthly_fee_cents"], 50_000);

    let ticket = ticket_id.to_string();
    let status = row(&rows, "ticket", "status", &ticket);
    assert_eq!(status["actor"], "ann");
    assert_eq!(status["before"], json!({"status": "open"}));
    assert_eq!(status["after"], json!({"status": "resolved"}));

    // No secret reached a row: not in the JSON, not in the CSV, not in the table itself.
    let everything = serde_json::to_string(&rows).unwrap();
    let csv = app
        .get("/api/audit?format=csv&limit=1000", Some(&root))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\u{feff}\"id\",\"at\",\"actor\""), "{csv}");
    assert!(csv.contains("\"token:deploy\""), "{csv}");
    for text in [&everything, &csv] {
        for secret in [
            "bob-first-secret",
            "bob-second-secret",
            "root-password",
            "not-the-password",
            secret.as_str(),
            "argon2",
            "password_hash",
            "token_hash",
        ] {
            assert!(!text.contains(secret), "{secret:?} in the audit log");
        }
    }
    app.stop().await;
}

async fn the_audit_log_is_for_admins_and_filters_and_pages(db: TestDbRef) {
    let app = App::on(&db.store, &db.url).await;
    app.add_user("root", Role::Admin).await;
    app.add_user("mia", Role::Manager).await;
    app.add_user("sam", Role::Supervisor).await;
    app.add_user("ann", Role::Agent).await;
    let root = app.login("root").await;
    for (who, cookie) in [
        ("mia", app.login("mia").await),
        ("sam", app.login("sam").await),
        ("ann", app.login("ann").await),
    ] {
        let refused = app.get("/api/audit", Some(&cookie)).await;
        let body = expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(
            body["error"].as_str().unwrap().contains("admin"),
            "{who}: {body}"
        );
    }
    expect_error(
        app.get("/api/audit", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    for name in ["q1", "q2", "q3"] {
        let put = app
            .put(&format!("/api/queues/{name}"), Some(&root), json!({}))
            .await;
        ok(put, StatusCode::NO_CONTENT).await;
    }
    let queues = audit(&app, &root, "kind=queue").await;
    let targets: Vec<&str> = queues
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["q3", "q2", "q1"]);
    let logins = audit(&app, &root, "kind=login").await;
    assert_eq!(logins.len(), 4, "{logins:#?}");
    assert!(logins.iter().all(|r| r["action"] == "login"));
    let by_mia = audit(&app, &root, "actor=mia").await;
    assert_eq!(by_mia.len(), 1, "{by_mia:#?}");
    assert_eq!(by_mia[0]["target"], "mia");
    let q2 = audit(&app, &root, "target=q2").await;
    assert_eq!(q2.len(), 1);
    assert_eq!(q2[0]["kind"], "queue");

    // A period: everything so far is before tomorrow's midnight, nothing after it.
    let now = chrono::Utc::now();
    let tomorrow = (now + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let yesterday = (now - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(audit(&app, &root, &format!("from={tomorrow}"))
        .await
        .is_empty());
    let within = audit(
        &app,
        &root,
        &format!("from={yesterday}&to={tomorrow}&kind=queue"),
    )
    .await;
    assert_eq!(within.len(), 3);
    let bad = app.get("/api/audit?from=someday", Some(&root)).await;
    expect_error(bad, StatusCode::BAD_REQUEST, "bad_request").await;

    // Pages: two rows, then the rest from `next_before`.
    let first: Value = app
        .get("/api/audit?kind=queue&limit=2", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    let page: Vec<&str> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["q3", "q2"]);
    let next = first["next_before"].as_i64().unwrap();
    let rest: Value = app
        .get(
            &format!("/api/audit?kind=queue&limit=2&before={next}"),
            Some(&root),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["entries"].as_array().unwrap().len(), 1);
    assert_eq!(rest["entries"][0]["target"], "q1");
    assert_eq!(rest["next_before"], Value::Null);
    app.stop().await;
}
