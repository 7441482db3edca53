//! What the phone-book and agent-statistics screens ask of the API, over the real router
//! (`web_app`): a page of the phone book with organization names and numbers as shown, removed
//! records only when asked, the search's numbers, a record with its last tickets, an agent's
//! edit stored (and an unreadable number refused with the reason, nothing stored), roles
//! refused before the body or the query is read, and the agent report for supervisors with
//! each agent's share of calls answered within the service level (JSON and CSV).

#[macro_use]
mod common;
mod web_app;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchdesk::directory::model::{Contact, NumberKind};
use switchdesk::stats::{AgentInterval, AgentTime, Deltas};
use switchdesk::users::Role;
use web_app::{expect_error, App};

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK, "{}", response.url());
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_agent_browses_searches_opens_and_edits_the_phone_book() {
    let app = App::start().await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;

    let acme: Value = app
        .post(
            "/api/organizations",
            Some(&sam),
            json!({"name": "Acme Ltd", "vip": true,
                   "numbers": [{"number": "+7 495 123-00-00", "kind": "main"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let acme_id = acme["id"].as_i64().unwrap();
    let olga: Value = app
        .post(
            "/api/contacts",
            Some(&ann),
            json!({"first_name": "Olga", "last_name": "Sorokina", "organization_id": acme_id,
                   "numbers": [{"number": "8 (916) 123-45-67", "kind": "mobile"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let olga_id = olga["id"].as_i64().unwrap();
    let gone: Value = app
        .post("/api/contacts", Some(&ann), json!({"first_name": "Gone"}))
        .await
        .json()
        .await
        .unwrap();
    let gone_id = gone["id"].as_i64().unwrap();
    // A synchronised source dropped "Gone": kept, and listed only when asked for.
    app.store
        .set_removed::<Contact>(&[gone_id], Some(1_000))
        .await
        .unwrap();

    // The list: organization names and numbers as shown, removed records left out.
    let page = json_of(
        app.get(
            "/api/phonebook/entries?kind=contacts&removed=false",
            Some(&ann),
        )
        .await,
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page[0]["type"], "contact");
    assert_eq!(page[0]["id"], olga_id);
    assert_eq!(page[0]["name"], "Olga Sorokina");
    assert_eq!(page[0]["organization"]["name"], "Acme Ltd");
    assert_eq!(page[0]["numbers_shown"], json!(["+7 916 123-45-67"]));
    let everyone = json_of(
        app.get("/api/phonebook/entries?kind=contacts", Some(&ann))
            .await,
    )
    .await;
    assert_eq!(everyone.as_array().unwrap().len(), 2, "{everyone}");
    assert_eq!(everyone[1]["removed_at"], 1_000);
    let organizations = json_of(
        app.get(
            "/api/phonebook/entries?kind=organizations&limit=1",
            Some(&ann),
        )
        .await,
    )
    .await;
    assert_eq!(organizations[0]["type"], "organization");
    assert_eq!(organizations[0]["vip"], true);
    assert_eq!(
        organizations[0]["numbers_shown"],
        json!(["+7 495 123-00-00"])
    );
    expect_error(
        app.get("/api/phonebook/entries?kind=assets", Some(&ann))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    // Signed out: refused before anything is read.
    assert_eq!(
        app.get("/api/phonebook/entries?kind=nonsense", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // The agents' search shows each hit's numbers the same way.
    let hits = json_of(app.get("/api/contacts/search?q=sorokina", Some(&ann)).await).await;
    assert_eq!(hits[0]["id"], olga_id);
    assert_eq!(hits[0]["numbers_shown"], json!(["+7 916 123-45-67"]));

    // Opened: a ticket of hers shows among her recent tickets and her organization's.
    let ticket = app
        .post(
            "/api/tickets",
            Some(&ann),
            json!({"subject": "Printer jams", "contact_id": olga_id, "organization_id": acme_id,
                   "caller_number": "+79161234567"}),
        )
        .await;
    assert_eq!(ticket.status(), StatusCode::CREATED);
    let card = json_of(
        app.get(&format!("/api/contacts/{olga_id}"), Some(&ann))
            .await,
    )
    .await;
    assert_eq!(
        card["recent_tickets"][0]["subject"], "Printer jams",
        "{card}"
    );
    assert_eq!(card["recent_calls"], json!([]));
    let org = json_of(
        app.get(&format!("/api/organizations/{acme_id}"), Some(&ann))
            .await,
    )
    .await;
    assert_eq!(org["contacts"][0]["id"], olga_id);
    assert_eq!(org["recent_tickets"][0]["subject"], "Printer jams", "{org}");

    // An agent's edit is stored: names, language, notes, a number added in a national form.
    let mut edited = card["contact"].clone();
    edited["last_name"] = json!("Sorokina-Ivanova");
    edited["language"] = json!("ru");
    edited["notes"] = json!("Calls after lunch");
    edited["numbers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"number": "+44 20 7946 0000", "kind": "work"}));
    let saved = app
        .put(
            &format!("/api/contacts/{olga_id}"),
            Some(&ann),
            edited.clone(),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let stored: Contact = app.store.record(olga_id).await.unwrap();
    assert_eq!(stored.last_name, "Sorokina-Ivanova");
    assert_eq!(stored.language.as_deref(), Some("ru"));
    assert_eq!(stored.notes, "Calls after lunch");
    let numbers: Vec<(&str, NumberKind)> = stored
        .numbers
        .iter()
        .map(|n| (n.number.as_str(), n.kind))
        .collect();
    assert_eq!(
        numbers,
        vec![
            ("+79161234567", NumberKind::Mobile),
            ("+442079460000", NumberKind::Work)
        ]
    );

    // A number that reads as none is refused with the reason, and nothing changes.
    let mut wrong = edited.clone();
    wrong["notes"] = json!("changed");
    wrong["numbers"][1] = json!({"number": "12345678", "kind": "mobile"});
    let refused = expect_error(
        app.put(&format!("/api/contacts/{olga_id}"), Some(&ann), wrong)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let reason = refused["error"].as_str().unwrap();
    assert!(
        reason.contains("\"12345678\" is not a valid number"),
        "{refused}"
    );
    let unchanged: Contact = app.store.record(olga_id).await.unwrap();
    assert_eq!(unchanged, stored);

    // What routes calls is a supervisor's: an agent's VIP is refused naming the field, before
    // anything is stored; a signed-out edit is refused before its (broken) body is read.
    let mut raised = edited.clone();
    raised["vip"] = json!(true);
    let forbidden = expect_error(
        app.put(
            &format!("/api/contacts/{olga_id}"),
            Some(&ann),
            raised.clone(),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(
        forbidden["error"].as_str().unwrap().contains("vip"),
        "{forbidden}"
    );
    let broken = app
        .client
        .put(app.url(&format!("/api/contacts/{olga_id}")))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::UNAUTHORIZED);
    let saved = app
        .put(&format!("/api/contacts/{olga_id}"), Some(&sam), raised)
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let stored: Contact = app.store.record(olga_id).await.unwrap();
    assert!(stored.vip);
    app.stop().await;
}

#[tokio::test]
async fn supervisors_read_each_agents_share_of_the_service_level() {
    let app = App::start().await;
    app.add_user("ann", Role::Agent).await;
    app.add_user("sam", Role::Supervisor).await;
    let ann = app.login("ann").await;
    let sam = app.login("sam").await;
    // 2026-12-07 10:00 UTC: agent1 answered four calls, three within the service level, and
    // spent 10 minutes in calls, 2 in wrap-up, 8 available and 5 on a break.
    const MIN: u64 = 60_000;
    let start = 1_796_637_600_000;
    app.store
        .add_intervals(&Deltas {
            agents: vec![AgentInterval {
                agent: "agent1".into(),
                start,
                time: AgentTime {
                    calls_answered: 4,
                    answered_within_sl: 3,
                    talk_ms: 10 * MIN,
                    login_ms: 25 * MIN,
                    available_ms: 8 * MIN,
                    in_call_ms: 10 * MIN,
                    wrap_up_ms: 2 * MIN,
                    break_ms: 5 * MIN,
                    ..AgentTime::default()
                },
            }],
            ..Deltas::default()
        })
        .await
        .unwrap();
    let period = "from=2026-12-07&to=2026-12-07";
    let report = json_of(
        app.get(&format!("/api/reports/agents?{period}"), Some(&sam))
            .await,
    )
    .await;
    let row = &report["agents"][0];
    assert_eq!(row["agent"], "agent1");
    assert_eq!(row["calls_answered"], 4);
    assert_eq!(row["answered_within_sl"], 3);
    assert_eq!(row["service_level"], 0.75);
    assert_eq!(row["break_secs"], 300);
    // (10 + 2) / (10 + 2 + 8), and (10 + 2) minutes over four calls.
    assert_eq!(row["occupancy"], 0.6);
    assert_eq!(row["average_handle_time_secs"], 180.0);

    let csv = app
        .get(
            &format!("/api/reports/agents?{period}&format=csv"),
            Some(&sam),
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap().replace('"', "");
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().ends_with(
            "average_handle_time_secs,occupancy,answered_within_sl,service_level,ratings,\
                 average_rating"
        ),
        "{text}"
    );
    assert!(
        // No rated call: no ratings, no average.
        lines
            .next()
            .unwrap()
            .ends_with(",180.0000,0.6000,3,0.7500,0,"),
        "{text}"
    );

    // Agents may not: refused before the query is read (no 400 about the dates).
    expect_error(
        app.get("/api/reports/agents?from=nonsense", Some(&ann))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.stop().await;
}
