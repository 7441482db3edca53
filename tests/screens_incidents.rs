//! The manager's incidents, in a real headless Chromium against the service on the simulated
//! switch: a Zabbix alarm about Acme's server shows up first on the manager's view with its
//! organization and the time left to take it; *Take* makes it the manager's (the timer now
//! counts to its resolution), the Russian screen has no English left; Jane of Acme calls and
//! agent1's pop-up leads with the incident; then *Resolve* closes it.

mod browser;
mod common;

use std::time::Duration;

use browser::{Browser, UNTRANSLATED};
use common::service::{config, simulator, Service};
use serde_json::{json, Value};
use switchdesk::directory::model::{Asset, Contact, Number, NumberKind, Organization, Owner};
use switchdesk::incidents::IncidentStatus;
use switchdesk::sim::CallSpec;
use switchdesk::users::{self, Role};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/alarms/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_sees_takes_and_resolves_an_incident() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let db = common::TestDb::sqlite().await;
    let sim = simulator(83, Duration::from_secs(20)).await;
    let spool = tempfile::tempdir().unwrap();
    let config = config(&db, &sim, spool.path());
    let store = db.store.clone();
    users::add_user(&store, "max", Role::Manager, "max-password-1")
        .await
        .unwrap();
    users::add_user(&store, "agent1", Role::Agent, "agent1-password")
        .await
        .unwrap();
    let monitoring = users::add_api_token(&store, "zabbix", Role::Supervisor)
        .await
        .unwrap();
    let acme = store
        .save_record(&Organization {
            name: "Acme Ltd".into(),
            ..Organization::default()
        })
        .await
        .unwrap();
    store
        .save_record(&Contact {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            organization_id: Some(acme),
            numbers: vec![Number {
                number: "+12125550101".into(),
                kind: NumberKind::Mobile,
            }],
            ..Contact::default()
        })
        .await
        .unwrap();
    store
        .save_record(&Asset {
            name: "srv-db-01".into(),
            owner: Owner::Organization(acme),
            ..Asset::default()
        })
        .await
        .unwrap();
    let service = Service::start(config).await;
    let posted: Value = reqwest::Client::new()
        .post(format!("{}/api/alarms", service.base))
        .bearer_auth(&monitoring)
        .json(&fixture("zabbix_problem.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = posted["received"][0]["incident"].as_i64().unwrap();

    browser
        .sign_in(&service.base, "max", "max-password-1")
        .await;
    let row = format!("#incidents-list li[data-incident='{id}']");
    let shown = browser
        .wait_for(
            "the incident on the manager's view",
            &format!(
                "document.body.dataset.view === 'manager' && !!document.querySelector(\"{row}\") \
                 && document.querySelector(\"{row} .incident-timer\").textContent !== '' \
                 && {{ text: document.querySelector(\"{row}\").textContent, \
                      timer: document.querySelector(\"{row} .incident-timer\").textContent, \
                      first: document.querySelector('#manager > section').id }}"
            ),
        )
        .await;
    let text = shown["text"].as_str().unwrap();
    assert!(text.contains("High CPU utilization"), "{shown}");
    assert!(text.contains("Acme Ltd"), "{shown}");
    assert!(
        shown["timer"]
            .as_str()
            .unwrap()
            .starts_with("to be taken within 1"),
        "{shown}"
    );
    assert_eq!(shown["first"], "incidents", "{shown}");
    browser.screenshot("incidents-manager-en").await;

    browser
        .eval(&format!(
            "document.querySelector(\"{row} button[data-action='take']\").click(); true"
        ))
        .await;
    let taken = browser
        .wait_for(
            "the incident taken",
            &format!(
                "document.querySelector(\"{row}\")?.classList.contains('is-taken') \
                 && document.querySelector(\"{row} .incident-timer\").textContent"
            ),
        )
        .await;
    assert!(
        taken.as_str().unwrap().starts_with("to be resolved within"),
        "{taken}"
    );
    let stored = store.incident(id).await.unwrap().unwrap();
    assert_eq!(stored.taken_by.as_deref(), Some("max"));

    // In Russian, nothing of the block is left in English.
    let chosen = browser
        .eval(
            "fetch('/api/me/language', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, \
               body: JSON.stringify({ language: 'ru' }) }).then(r => r.status)",
        )
        .await;
    assert_eq!(chosen, json!(200));
    browser
        .eval("setTimeout(() => location.reload(), 0); true")
        .await;
    browser
        .wait_for(
            "the manager's view in Russian, with the incident",
            &format!(
                "document.documentElement?.lang === 'ru' && document.body?.dataset.view === 'manager' \
                 && !!document.querySelector(\"{row} .incident-timer\")?.textContent"
            ),
        )
        .await;
    let left = browser.eval(UNTRANSLATED).await;
    assert_eq!(left, json!([]), "English left on the Russian screen");
    browser.screenshot("incidents-manager-ru").await;

    // Jane of Acme calls: agent1's pop-up leads with the incident.
    browser
        .eval("fetch('/api/logout', { method: 'POST' }).then(r => r.status)")
        .await;
    browser
        .sign_in(&service.base, "agent1", "agent1-password")
        .await;
    browser
        .wait_for(
            "the agent desktop, live",
            "document.body?.dataset.view === 'agent' && document.body.dataset.feed === 'connected' \
             && !!document.querySelector('#go-available')",
        )
        .await;
    browser
        .eval("document.querySelector('#go-available').click(); true")
        .await;
    let call = sim
        .place_call(CallSpec {
            from_number: "+12125550101".into(),
            from_name: "Jane Doe".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let popup = browser
        .wait_for_up_to(
            "Jane's pop-up with the incident",
            &format!(
                "document.querySelector('#popup')?.dataset.call === {call:?} \
                 && !document.querySelector('#popup-incidents').hidden \
                 && {{ incident: document.querySelector('#popup-incidents > p')?.dataset.incident, \
                      text: document.querySelector('#popup-incidents').textContent, \
                      first: [...document.querySelector('#popup').children].findIndex(e => e.id === 'popup-incidents') \
                          < [...document.querySelector('#popup').children].findIndex(e => e.id === 'popup-who') }}"
            ),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(popup["incident"], json!(id.to_string()), "{popup}");
    assert_eq!(popup["first"], json!(true), "{popup}");
    assert!(
        popup["text"]
            .as_str()
            .unwrap()
            .contains("High CPU utilization"),
        "{popup}"
    );
    browser.screenshot("incidents-popup-en").await;

    // Back to the manager, who resolves it.
    browser
        .eval("fetch('/api/logout', { method: 'POST' }).then(r => r.status)")
        .await;
    browser
        .sign_in(&service.base, "max", "max-password-1")
        .await;
    browser
        .wait_for(
            "the manager's view with the incident",
            &format!("!!document.querySelector(\"{row} button[data-action='resolve']\")"),
        )
        .await;
    browser
        .eval(&format!(
            "document.querySelector(\"{row} button[data-action='resolve']\").click(); true"
        ))
        .await;
    browser
        .wait_for(
            "the incident resolved",
            &format!("document.querySelector(\"{row}\")?.classList.contains('is-resolved')"),
        )
        .await;
    let stored = store.incident(id).await.unwrap().unwrap();
    assert_eq!(stored.status, IncidentStatus::Resolved);
    assert_eq!(stored.resolved_by.as_deref(), Some("max"));
    service.stop().await;
}
