//! Incidents from monitoring, on both backends: the two alarm formats (the payloads under
//! `tests/fixtures/alarms/`) through `POST /api/alarms` and who may post them, the host
//! matched to a CMDB asset by name and by address, duplicates and flapping folded, a
//! recovery closing, the timers escalating with synthetic time, taking and resolving over
//! the API and from the chat room (`chat::CommandHandler`), and the report.

#[macro_use]
mod common;
mod web_app;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchdesk::chat::{ChatCommand, CommandHandler as _, Refusal};
use switchdesk::directory::model::{Asset, Contact, Organization, Owner};
use switchdesk::incidents::{
    alarm, IncidentConfig, IncidentError, IncidentEventKind, IncidentStatus, Incidents, StepKind,
};
use switchdesk::store::Store;
use switchdesk::tickets::{NoteKind, Status, TicketKind, TicketRules};
use switchdesk::users::{self, Role};
use tokio::sync::broadcast;

use common::{TestDb, TestDbRef};
use web_app::{expect_error, App};

/// A time well clear of the wall clock: every step is stamped with it, not with `now`.
const T0: i64 = 1_800_000_000_000;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/alarms/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn with_event(mut document: Value, event_id: &str) -> Value {
    document["event_id"] = json!(event_id);
    document
}

fn desk(store: &Store, config: IncidentConfig) -> Incidents {
    let (tickets, _) = broadcast::channel(64);
    Incidents::new(
        store.clone(),
        config,
        TicketRules::default(),
        tickets,
        None,
        None,
    )
}

async fn receive(desk: &Incidents, document: Value, at: i64) -> Vec<(Option<i64>, &'static str)> {
    let alarms = alarm::parse(&document).unwrap();
    desk.receive(&alarms, at)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.incident, r.outcome))
        .collect()
}

async fn organization(store: &Store, name: &str) -> i64 {
    store
        .save_record(&Organization {
            name: name.into(),
            ..Organization::default()
        })
        .await
        .unwrap()
}

async fn duplicates_and_flapping_fold_and_a_recovery_closes(db: TestDbRef) {
    let store = db.store.clone();
    let acme = organization(&store, "Acme Ltd").await;
    // Matched by name, whatever its case.
    store
        .save_record(&Asset {
            name: "SRV-DB-01".into(),
            kind: "server".into(),
            owner: Owner::Organization(acme),
            ..Asset::default()
        })
        .await
        .unwrap();
    let desk = desk(&store, IncidentConfig::default());
    let mut events = desk.subscribe();
    let problem = fixture("zabbix_problem.json");
    let recovery = fixture("zabbix_recovery.json");

    let opened = receive(&desk, problem.clone(), T0).await;
    let id = opened[0].0.unwrap();
    assert_eq!(opened, vec![(Some(id), "opened")]);
    let incident = store.incident(id).await.unwrap().unwrap();
    assert_eq!(incident.organization_id, Some(acme));
    assert_eq!(incident.organization.as_deref(), Some("Acme Ltd"));
    assert_eq!(
        (incident.host.as_str(), incident.address.as_str()),
        ("srv-db-01", "10.20.0.15")
    );
    assert_eq!(incident.title, "High CPU utilization (over 90% for 5m)");
    assert_eq!((incident.status, incident.line), (IncidentStatus::Open, 1));
    assert_eq!(incident.due_at, Some(T0 + 15 * 60_000));
    let ticket = store.ticket(incident.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.kind, TicketKind::Incident);
    assert_eq!((ticket.category.as_str(), ticket.line), ("emergency", 1));
    assert_eq!(ticket.organization_id, Some(acme));
    assert!(ticket.subject.contains("srv-db-01"), "{}", ticket.subject);
    let event = events.recv().await.unwrap();
    assert_eq!(
        (event.kind, event.number, event.organization.as_deref()),
        (IncidentEventKind::Opened, id, Some("Acme Ltd"))
    );
    assert_eq!((event.line, event.who.as_str()), (1, "monitoring"));

    // Zabbix sends the same problem again (a retry): nothing changes.
    assert_eq!(
        receive(&desk, problem.clone(), T0 + 1_000).await,
        vec![(Some(id), "duplicate")]
    );
    assert_eq!(store.incident(id).await.unwrap().unwrap().occurrences, 1);

    // The recovery closes it, by monitoring, and its ticket with it.
    let recovered_at = T0 + 60_000;
    assert_eq!(
        receive(&desk, recovery.clone(), recovered_at).await,
        vec![(Some(id), "resolved")]
    );
    let resolved = store.incident(id).await.unwrap().unwrap();
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    assert_eq!(resolved.resolved_by.as_deref(), Some("monitoring"));
    assert_eq!(resolved.due_at, None);
    let ticket = store.ticket(resolved.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.status, Status::Resolved);
    assert_eq!(
        receive(&desk, recovery.clone(), recovered_at + 1).await,
        vec![(None, "nothing_open")]
    );

    // The trigger fires again within the flap window: the same incident reopens.
    let flap = recovered_at + 300_000;
    assert_eq!(
        receive(&desk, with_event(problem.clone(), "4712"), flap).await,
        vec![(Some(id), "reopened")]
    );
    let reopened = store.incident(id).await.unwrap().unwrap();
    assert_eq!(
        (reopened.status, reopened.occurrences),
        (IncidentStatus::Open, 2)
    );
    assert_eq!(reopened.due_at, Some(flap + 15 * 60_000));
    assert_eq!(
        store
            .ticket(reopened.ticket_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Open
    );
    // Another problem event of the same trigger while it is open folds in.
    assert_eq!(
        receive(&desk, with_event(problem.clone(), "4713"), flap + 1).await,
        vec![(Some(id), "updated")]
    );
    assert_eq!(store.incident(id).await.unwrap().unwrap().occurrences, 3);
    assert_eq!(
        receive(&desk, with_event(recovery.clone(), "4713"), flap + 2).await,
        vec![(Some(id), "resolved")]
    );

    // Past the window, the next problem is a new incident.
    let later = flap + 2 + 300_001;
    let next = receive(&desk, with_event(problem, "4800"), later).await;
    assert_eq!(next[0].1, "opened");
    assert_ne!(next[0].0, Some(id));

    let steps: Vec<StepKind> = store
        .incident(id)
        .await
        .unwrap()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.kind)
        .collect();
    assert_eq!(
        steps,
        vec![
            StepKind::Opened,
            StepKind::Resolved,
            StepKind::Reopened,
            StepKind::Updated,
            StepKind::Resolved
        ]
    );
}

async fn timers_escalate_and_start_again_in_synthetic_time(db: TestDbRef) {
    let store = db.store.clone();
    let config = IncidentConfig {
        take_within_secs: 600,
        resolve_within_secs: 3_600,
        ..IncidentConfig::default()
    };
    let desk = desk(&store, config);
    let mut events = desk.subscribe();
    let id = receive(&desk, fixture("zabbix_problem.json"), T0).await[0]
        .0
        .unwrap();
    // Unmatched host: an incident all the same, with no organization.
    let incident = store.incident(id).await.unwrap().unwrap();
    assert_eq!(incident.organization_id, None);

    // Nobody takes it for ten minutes: line 2, and ten more minutes to take it.
    assert_eq!(desk.escalate_due(T0 + 599_999).await.unwrap(), 0);
    assert_eq!(desk.escalate_due(T0 + 600_000).await.unwrap(), 1);
    let escalated = store.incident(id).await.unwrap().unwrap();
    assert_eq!(
        (escalated.line, escalated.status),
        (2, IncidentStatus::Open)
    );
    assert_eq!(escalated.due_at, Some(T0 + 1_200_000));
    let ticket = store.ticket(escalated.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.line, 2);
    let notes = store.notes(ticket.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].kind, notes[0].line),
        (NoteKind::Escalation, Some(2))
    );
    assert!(notes[0].body.contains("not taken"), "{}", notes[0].body);
    // Run again at the same moment: nothing is due twice.
    assert_eq!(desk.escalate_due(T0 + 600_000).await.unwrap(), 0);

    // Anna takes it (as the API and the chat bot do): the resolve timer runs.
    let taken_at = T0 + 700_000;
    let taken = desk.take_at(id, "anna", taken_at).await.unwrap();
    assert_eq!(taken.status, IncidentStatus::Taken);
    assert_eq!(taken.taken_by.as_deref(), Some("anna"));
    assert_eq!(taken.due_at, Some(taken_at + 3_600_000));
    let ticket = store.ticket(taken.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.assignee.as_deref(), Some("anna"));
    assert_eq!(ticket.status, Status::Open);
    assert!(matches!(
        desk.take_at(id, "bob", taken_at + 1).await,
        Err(IncidentError::Conflict(why)) if why.contains("anna")
    ));
    assert!(matches!(
        desk.take_at(9_999, "bob", taken_at).await,
        Err(IncidentError::NotFound(9_999))
    ));

    // Not resolved within the hour: line 3, another hour; then overdue, and no more timers.
    let first = taken_at + 3_600_000;
    assert_eq!(desk.escalate_due(first).await.unwrap(), 1);
    let on_top = store.incident(id).await.unwrap().unwrap();
    assert_eq!((on_top.line, on_top.due_at), (3, Some(first + 3_600_000)));
    assert_eq!(desk.escalate_due(first + 3_600_000).await.unwrap(), 1);
    let overdue = store.incident(id).await.unwrap().unwrap();
    assert_eq!((overdue.line, overdue.due_at), (3, None));
    assert_eq!(desk.escalate_due(first + 99_000_000).await.unwrap(), 0);

    let resolved_at = first + 4_000_000;
    let resolved = desk.resolve_at(id, "anna", resolved_at).await.unwrap();
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    assert_eq!(resolved.resolved_at, Some(resolved_at));
    assert!(matches!(
        desk.resolve_at(id, "anna", resolved_at + 1).await,
        Err(IncidentError::Conflict(_))
    ));
    let ticket = store.ticket(resolved.ticket_id).await.unwrap().unwrap();
    assert_eq!((ticket.status, ticket.line), (Status::Resolved, 3));

    let steps: Vec<(StepKind, String, u8, i64)> = resolved_steps(&store, id).await;
    assert_eq!(
        steps,
        vec![
            (StepKind::Opened, "monitoring".into(), 1, T0),
            (StepKind::Escalated, "switchdesk".into(), 2, T0 + 600_000),
            (StepKind::Taken, "anna".into(), 2, taken_at),
            (StepKind::Escalated, "switchdesk".into(), 3, first),
            (StepKind::Overdue, "switchdesk".into(), 3, first + 3_600_000),
            (StepKind::Resolved, "anna".into(), 3, resolved_at),
        ]
    );
    let mut told = Vec::new();
    while let Ok(event) = events.try_recv() {
        told.push((event.kind, event.who, event.line));
    }
    assert_eq!(
        told,
        vec![
            (IncidentEventKind::Opened, "monitoring".into(), 1),
            (IncidentEventKind::Escalated, "switchdesk".into(), 2),
            (IncidentEventKind::Taken, "anna".into(), 2),
            (IncidentEventKind::Escalated, "switchdesk".into(), 3),
            (IncidentEventKind::Escalated, "switchdesk".into(), 3),
            (IncidentEventKind::Resolved, "anna".into(), 3),
        ]
    );
}

async fn resolved_steps(store: &Store, id: i64) -> Vec<(StepKind, String, u8, i64)> {
    store
        .incident(id)
        .await
        .unwrap()
        .unwrap()
        .steps
        .into_iter()
        .map(|s| (s.kind, s.by, s.line, s.at))
        .collect()
}

async fn alarms_need_a_supervisor_token_and_a_readable_body(db: TestDbRef) {
    let app = App::on(&db.store, &db.url).await;
    let monitoring = users::add_api_token(&app.store, "zabbix", Role::Supervisor)
        .await
        .unwrap();
    let script = users::add_api_token(&app.store, "script", Role::Agent)
        .await
        .unwrap();
    let problem = fixture("zabbix_problem.json");
    expect_error(
        app.post("/api/alarms", None, problem.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_error(
        app.post("/api/alarms", Some("sdk_not-a-token"), problem.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_error(
        app.post("/api/alarms", Some(&script), problem.clone())
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let mut no_value = problem.clone();
    no_value.as_object_mut().unwrap().remove("event_value");
    let mut firing = fixture("alertmanager_firing.json");
    firing["alerts"][1]["status"] = json!("pending");
    let mut old = fixture("alertmanager_firing.json");
    old["version"] = json!("3");
    let cases = [
        (json!([problem.clone()]), "JSON object"),
        (json!({"hello": "world"}), "neither a Zabbix webhook"),
        (no_value, "event_value"),
        (with_event(problem.clone(), "{EVENT.ID}"), "event_id"),
        (firing, "alerts[1]: \"status\" is \"pending\""),
        (old, "version \"3\""),
        (json!({"version": "4", "alerts": []}), "\"alerts\" is empty"),
    ];
    for (body, says) in cases {
        let refused = expect_error(
            app.post("/api/alarms", Some(&monitoring), body).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        let reason = refused["error"].as_str().unwrap();
        assert!(reason.contains(says), "{reason:?} should say {says:?}");
    }
    // Not JSON at all.
    let text = web_app::with(app.client.post(app.url("/api/alarms")), Some(&monitoring))
        .header("content-type", "application/json")
        .body("event_id=1")
        .send()
        .await
        .unwrap();
    expect_error(text, StatusCode::BAD_REQUEST, "bad_request").await;
    // Bigger than the body limit.
    let mut big = problem.clone();
    big["event_name"] = json!("x".repeat(web_app::MAX_BODY));
    let too_big = app.post("/api/alarms", Some(&monitoring), big).await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing of it was stored.
    let listed: Value = app
        .get("/api/incidents", Some(&monitoring))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["incidents"], json!([]), "{listed}");
    app.stop().await;
}

async fn alertmanager_alarms_match_assets_by_address_and_people_work_them(db: TestDbRef) {
    let app = App::on(&db.store, &db.url).await;
    let store = app.store.clone();
    let globex = organization(&store, "Globex").await;
    let jane = store
        .save_record(&Contact {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            organization_id: Some(globex),
            ..Contact::default()
        })
        .await
        .unwrap();
    // Owned by Globex's contact, known by its address only.
    store
        .save_record(&Asset {
            name: "router-7".into(),
            address: "10.30.1.7".into(),
            owner: Owner::Contact(jane),
            ..Asset::default()
        })
        .await
        .unwrap();
    let monitoring = users::add_api_token(&store, "alertmanager", Role::Supervisor)
        .await
        .unwrap();
    for (name, role) in [
        ("anna", Role::Agent),
        ("bob", Role::Agent),
        ("sue", Role::Supervisor),
        ("max", Role::Manager),
    ] {
        app.add_user(name, role).await;
    }
    let (anna, bob, sue, max) = (
        app.login("anna").await,
        app.login("bob").await,
        app.login("sue").await,
        app.login("max").await,
    );

    let answer = app
        .post(
            "/api/alarms",
            Some(&monitoring),
            fixture("alertmanager_firing.json"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    let received = answer["received"].as_array().unwrap();
    assert_eq!(received.len(), 2, "{answer}");
    assert!(
        received.iter().all(|r| r["outcome"] == "opened"),
        "{answer}"
    );
    let (down, disk) = (
        received[0]["incident"].as_i64().unwrap(),
        received[1]["incident"].as_i64().unwrap(),
    );

    let listed: Value = app
        .get("/api/incidents", Some(&anna))
        .await
        .json()
        .await
        .unwrap();
    let incidents = listed["incidents"].as_array().unwrap();
    let find = |id: i64| incidents.iter().find(|i| i["id"] == id).unwrap().clone();
    let router = find(down);
    assert_eq!(router["organization"], "Globex", "{router}");
    assert_eq!(router["host"], "10.30.1.7");
    assert_eq!(router["title"], "Instance 10.30.1.7:9100 is down");
    assert_eq!(router["severity"], "critical");
    assert_eq!(router["steps"][0]["kind"], "opened");
    // A host the phone book does not have: visible, without an organization.
    assert_eq!(find(disk)["organization"], Value::Null);
    assert_eq!(listed["take_within_secs"], 900);

    // Alertmanager resolves the router's alert; the disk alert stays open.
    let resolved: Value = app
        .post(
            "/api/alarms",
            Some(&monitoring),
            fixture("alertmanager_resolved.json"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resolved["received"][0]["outcome"], "resolved", "{resolved}");
    assert_eq!(
        store.incident(down).await.unwrap().unwrap().status,
        IncidentStatus::Resolved
    );
    // The firing group sent again (its repeat interval): the same alerts, nothing new.
    let again: Value = app
        .post(
            "/api/alarms",
            Some(&monitoring),
            fixture("alertmanager_firing.json"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["received"][0]["outcome"], "duplicate", "{again}");
    assert_eq!(again["received"][1]["outcome"], "duplicate", "{again}");

    // Anna takes the disk incident; Bob comes second; Bob may not resolve Anna's.
    let take = |who: &str, id: i64| {
        let (app, who) = (&app, who.to_owned());
        async move {
            app.post(&format!("/api/incidents/{id}/take"), Some(&who), json!({}))
                .await
        }
    };
    let taken = take(&anna, disk).await;
    assert_eq!(taken.status(), StatusCode::OK);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(
        (taken["status"].as_str(), taken["taken_by"].as_str()),
        (Some("taken"), Some("anna"))
    );
    expect_error(take(&bob, disk).await, StatusCode::CONFLICT, "conflict").await;
    expect_error(take(&bob, 9_999).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_error(
        app.post(&format!("/api/incidents/{disk}/take"), None, json!({}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_error(
        app.post(
            &format!("/api/incidents/{disk}/resolve"),
            Some(&bob),
            json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let done = app
        .post(
            &format!("/api/incidents/{disk}/resolve"),
            Some(&sue),
            json!({}),
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["resolved_by"], "sue");

    // The report: a manager's.
    expect_error(
        app.get("/api/reports/incidents", Some(&anna)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let report: Value = app
        .get(
            "/api/reports/incidents?from=2000-01-01T00:00:00Z",
            Some(&max),
        )
        .await
        .json()
        .await
        .unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    let unknown = rows
        .iter()
        .find(|r| r["organization_id"].is_null())
        .unwrap();
    assert_eq!(
        (
            &unknown["incidents"],
            &unknown["taken"],
            &unknown["resolved"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{report}"
    );
    assert!(unknown["take_secs_mean"].as_f64().is_some(), "{report}");
    let globex_row = rows.iter().find(|r| r["organization"] == "Globex").unwrap();
    assert_eq!(globex_row["resolved"], 1, "{report}");
    assert_eq!(globex_row["taken"], 0, "{report}");
    app.stop().await;
}

async fn the_chat_room_takes_and_resolves_as_the_api_does(db: TestDbRef) {
    let store = db.store.clone();
    for (name, role) in [
        ("anna", Role::Agent),
        ("bob", Role::Agent),
        ("sue", Role::Supervisor),
    ] {
        users::add_user(&store, name, role, "a-long-password-1")
            .await
            .unwrap();
    }
    let desk = desk(&store, IncidentConfig::default());
    let id = receive(&desk, fixture("zabbix_problem.json"), T0).await[0]
        .0
        .unwrap();
    let take = |by: &str| ChatCommand::Take {
        incident: id,
        by: by.into(),
    };
    let resolve = |by: &str| ChatCommand::Resolve {
        incident: id,
        by: by.into(),
    };
    assert_eq!(desk.handle(take("anna")).await, Ok(()));
    // The same command read again after a restart: done already, no refusal.
    assert_eq!(desk.handle(take("anna")).await, Ok(()));
    assert_eq!(
        desk.handle(take("bob")).await,
        Err(Refusal::AlreadyTaken { by: "anna".into() })
    );
    assert_eq!(
        desk.handle(ChatCommand::Take {
            incident: 9_999,
            by: "bob".into()
        })
        .await,
        Err(Refusal::UnknownIncident)
    );
    // Bob may not resolve Anna's; nobody unknown may; a supervisor may.
    assert_eq!(
        desk.handle(resolve("bob")).await,
        Err(Refusal::NotPermitted)
    );
    assert_eq!(
        desk.handle(resolve("ghost")).await,
        Err(Refusal::NotPermitted)
    );
    assert_eq!(desk.handle(resolve("sue")).await, Ok(()));
    assert_eq!(desk.handle(resolve("sue")).await, Ok(()));
    assert_eq!(
        desk.handle(resolve("anna")).await,
        Err(Refusal::AlreadyResolved)
    );
    let incident = store.incident(id).await.unwrap().unwrap();
    assert_eq!(
        (
            incident.taken_by.as_deref(),
            incident.resolved_by.as_deref()
        ),
        (Some("anna"), Some("sue"))
    );
}

on_both_backends!(
    the_chat_room_takes_and_resolves_as_the_api_does,
    duplicates_and_flapping_fold_and_a_recovery_closes,
    timers_escalate_and_start_again_in_synthetic_time,
    alarms_need_a_supervisor_token_and_a_readable_body,
    alertmanager_alarms_match_assets_by_address_and_people_work_them,
);

#[test]
fn the_fixtures_read_as_alarms() {
    let zabbix = alarm::parse(&fixture("zabbix_problem.json")).unwrap();
    assert_eq!(zabbix[0].condition_key, "zabbix:trigger:23901");
    let recovery = alarm::parse(&fixture("zabbix_recovery.json")).unwrap();
    assert_eq!(recovery[0].event_key, zabbix[0].event_key);
    assert_eq!(recovery[0].state, alarm::AlarmState::Recovery);
    let firing = alarm::parse(&fixture("alertmanager_firing.json")).unwrap();
    assert_eq!(firing.len(), 2);
    assert_eq!(firing[0].condition_key, "alertmanager:5c3f1e8a0b2d4f67");
    assert_eq!(firing[1].host, "nas-unknown.example");
}
