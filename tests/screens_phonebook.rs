//! The phone book and the agent statistics in a real headless Chromium against the whole
//! service on the simulated switch: Jane Doe of Acme Ltd calls the support queue twice and
//! agent1 answers; an agent finds her in the phone book by a misspelt name, opens her card
//! (numbers as the deployment shows them, her organization, assets, her last call), edits it,
//! is told why a number that is none is refused, and saves it (the stored row checked), then
//! opens her organization with its contacts; a supervisor reads the agent statistics with
//! agent1's two calls, sorted by a column, and both screens in Russian. Screenshots (desktop
//! and phone) under `target/screenshots/`.

mod browser;
mod common;

use std::time::Duration;

use browser::{Browser, UNTRANSLATED};
use common::service::{agent, eventually, queue, Service};
use serde_json::{json, Value};
use switchdesk::acd::AgentStatus;
use switchdesk::cdr::{CallKind, CallRecord, Outcome};
use switchdesk::directory::model::{Asset, Contact, Number, NumberKind, Organization, Owner};
use switchdesk::sim::CallSpec;
use switchdesk::users::{self, Role};

const PASSWORD: &str = "phone-book-screens";
const JANE: &str = "+12125550101";

/// A phone's screen, as the other screen tests emulate it.
const PHONE: &str = r#"{"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}"#;

async fn phone(browser: &mut Browser) {
    browser
        .call(
            "Emulation.setDeviceMetricsOverride",
            serde_json::from_str(PHONE).unwrap(),
        )
        .await;
}

async fn desktop(browser: &mut Browser) {
    browser
        .call("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
}

/// Signs the page's user out (so another can sign in on the same browser).
async fn sign_out(browser: &mut Browser) {
    browser
        .eval("fetch('/api/logout', {method: 'POST'}).then(r => r.status)")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_book_and_the_agent_statistics_in_a_real_browser() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let db = common::TestDb::sqlite().await;
    db.store.seed_queue(&queue()).await.unwrap();
    db.store.seed_agent(&agent()).await.unwrap();
    db.store
        .save_agent_state("agent1", &AgentStatus::Available, 0, 0)
        .await
        .unwrap();
    for (name, role) in [("ann", Role::Agent), ("sue", Role::Supervisor)] {
        users::add_user(&db.store, name, role, PASSWORD)
            .await
            .unwrap();
    }
    let acme = db
        .store
        .save_record(&Organization {
            name: "Acme Ltd".into(),
            numbers: vec![Number {
                number: "+12125550100".into(),
                kind: NumberKind::Main,
            }],
            ..Organization::default()
        })
        .await
        .unwrap();
    let jane = db
        .store
        .save_record(&Contact {
            organization_id: Some(acme),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            numbers: vec![Number {
                number: JANE.into(),
                kind: NumberKind::Mobile,
            }],
            ..Contact::default()
        })
        .await
        .unwrap();
    db.store
        .save_record(&Asset {
            name: "Front-desk printer".into(),
            kind: "printer".into(),
            serial: "PR-7".into(),
            owner: Owner::Contact(jane),
            ..Asset::default()
        })
        .await
        .unwrap();
    // Her last call, as the CDR writer files it.
    let mut calls = db.store.begin_calls().await.unwrap();
    calls
        .save_call(
            &CallRecord {
                id: "call-jane-1".into(),
                kind: CallKind::Queue,
                outcome: Outcome::Answered,
                caller_number: JANE.into(),
                caller_e164: Some(JANE.into()),
                caller_name: "Jane Doe".into(),
                destination: "7000".into(),
                queue: Some("support".into()),
                agent: Some("agent1".into()),
                started_at: 1_796_637_600_000,
                answered_at: Some(1_796_637_605_000),
                ended_at: 1_796_637_725_000,
                wait_secs: 5,
                talk_secs: 120,
                hangup_cause: "NORMAL_CLEARING".into(),
                recording: None,
                identified: "exact".into(),
                contact_id: Some(jane),
                organization_id: Some(acme),
                vip: false,
                ticket_id: None,
                rating: None,
            },
            1_796_637_725_000,
        )
        .await
        .unwrap();
    calls.commit().await.unwrap();

    let spool = tempfile::tempdir().unwrap();
    let sim = common::service::simulator(17, Duration::from_secs(1)).await;
    let mut config = common::service::config(&db, &sim, spool.path());
    config.phonebook.default_region = Some("US".into());
    let service = Service::start(config).await;
    let base = service.base.clone();

    // Jane calls twice and agent1 answers each within the service level.
    for _ in 0..2 {
        let call = sim
            .place_call(CallSpec {
                from_number: JANE.into(),
                from_name: "Jane Doe".into(),
                destination: "7000".into(),
                talk: Some(Duration::from_secs(2)),
                ..CallSpec::default()
            })
            .await
            .unwrap();
        eventually("the call answered and over", async || {
            let channels = sim.channels().await.ok()?;
            (!channels.iter().any(|c| c.uuid == call)).then_some(())
        })
        .await;
    }

    // An agent, in English: the list, then the search with a typo.
    browser.sign_in(&base, "ann", PASSWORD).await;
    browser
        .wait_for(
            "the agent desktop",
            "document.body.dataset.view === 'agent'",
        )
        .await;
    browser.goto(&format!("{base}/#phonebook")).await;
    let listed = browser
        .wait_for(
            "the phone book's first page",
            "[...document.querySelectorAll('#phonebook-table tbody tr')].map(r => r.textContent).join(' | ')",
        )
        .await;
    let listed = listed.as_str().unwrap();
    assert!(listed.contains("Jane Doe"), "{listed}");
    assert!(listed.contains("Acme Ltd"), "{listed}");
    // US numbers, shown in the configured style (international by default).
    assert!(listed.contains("+1 212-555-0101"), "{listed}");
    browser
        .eval(
            "document.querySelector('#phonebook-q').value = 'jane deo'; \
             document.querySelector('#phonebook-search button[type=submit]').click(); true",
        )
        .await;
    let hit = browser
        .wait_for(
            "Jane found by a misspelt name",
            "document.querySelector('#phonebook-page').textContent.includes('found') && \
             document.querySelector('#phonebook-table tbody tr')?.textContent",
        )
        .await;
    assert!(hit.as_str().unwrap().contains("+1 212-555-0101"), "{hit}");

    // Her card: numbers, organization, asset, her last call.
    browser
        .eval("document.querySelector('#phonebook-table tbody tr a').click(); true")
        .await;
    let card = browser
        .wait_for(
            "Jane's card",
            "!document.querySelector('#phonebook-detail').hidden && \
             !!document.querySelector('#phonebook-calls li') && \
             document.querySelector('#phonebook-detail').textContent",
        )
        .await;
    let card = card.as_str().unwrap();
    for expected in [
        "Jane Doe",
        "Acme Ltd",
        "+1 212-555-0101",
        "mobile",
        "Front-desk printer",
        "agent1",
    ] {
        assert!(card.contains(expected), "{expected} in {card}");
    }
    assert_eq!(
        browser.eval("location.hash").await,
        json!(format!("#phonebook/contact/{jane}"))
    );
    browser.screenshot("phonebook-en").await;

    // Edited: a new surname, a language, and a number that is none, refused with the reason.
    browser
        .eval("document.querySelector('#phonebook-edit').click(); true")
        .await;
    browser
        .wait_for("the edit form", "!!document.querySelector('#pb-form')")
        .await;
    let routing = browser
        .eval("[document.querySelector('#pb-vip').disabled, document.querySelector('#pb-priority').disabled]")
        .await;
    assert_eq!(routing, json!([true, true]), "an agent's VIP and priority");
    browser
        .eval(
            "(() => { document.querySelector('#pb-last-name').value = 'Doe-Smith'; \
             document.querySelector('#pb-language').value = 'en'; \
             document.querySelector('#pb-notes').value = 'Prefers e-mail'; \
             document.querySelector('#pb-add-number').click(); \
             const rows = document.querySelectorAll('#pb-numbers .number-row'); \
             const row = rows[rows.length - 1]; \
             row.querySelector('.pb-number-kind').value = 'work'; \
             row.querySelector('.pb-number').value = '555-0199'; \
             document.querySelector('#pb-save').click(); return true; })()",
        )
        .await;
    let refused = browser
        .wait_for(
            "the refusal with its reason",
            "!document.querySelector('#pb-error').hidden && document.querySelector('#pb-error').textContent",
        )
        .await;
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("\"555-0199\" is not a valid number"),
        "{refused}"
    );
    browser.screenshot("phonebook-en-refused").await;
    let unchanged: Contact = db.store.record(jane).await.unwrap();
    assert_eq!(unchanged.last_name, "Doe");
    browser
        .eval(
            "(() => { const rows = document.querySelectorAll('#pb-numbers .number-row'); \
             rows[rows.length - 1].querySelector('.pb-number').value = '(212) 555-0199'; \
             document.querySelector('#pb-save').click(); return true; })()",
        )
        .await;
    browser
        .wait_for(
            "the saved card",
            "!!document.querySelector('#phonebook-edit') && \
             document.querySelector('#phonebook-detail h2').textContent.includes('Doe-Smith')",
        )
        .await;
    let stored: Contact = db.store.record(jane).await.unwrap();
    assert_eq!(stored.last_name, "Doe-Smith");
    assert_eq!(stored.language.as_deref(), Some("en"));
    assert_eq!(stored.notes, "Prefers e-mail");
    assert_eq!(stored.organization_id, Some(acme));
    let numbers: Vec<(&str, NumberKind)> = stored
        .numbers
        .iter()
        .map(|n| (n.number.as_str(), n.kind))
        .collect();
    assert_eq!(
        numbers,
        vec![
            (JANE, NumberKind::Mobile),
            ("+12125550199", NumberKind::Work)
        ]
    );
    // Her organization, opened from her card: its line and its contacts, her among them.
    browser
        .eval("document.querySelector('#phonebook-detail .facts a').click(); true")
        .await;
    let organization = browser
        .wait_for(
            "Acme's card",
            "document.querySelector('#phonebook-detail').dataset.type === 'organization' && \
             document.querySelector('#phonebook-detail').textContent",
        )
        .await;
    let organization = organization.as_str().unwrap();
    for expected in ["Acme Ltd", "+1 212-555-0100", "main", "Jane Doe-Smith"] {
        assert!(
            organization.contains(expected),
            "{expected} in {organization}"
        );
    }
    assert_eq!(
        browser.eval("location.hash").await,
        json!(format!("#phonebook/organization/{acme}"))
    );
    phone_shot(
        &mut browser,
        &format!("{base}/#phonebook/contact/{jane}"),
        Screen::Card,
        "phonebook-en-phone",
    )
    .await;

    // A supervisor, in English: agent1's two calls in the statistics, all within the SL.
    sign_out(&mut browser).await;
    browser.sign_in(&base, "sue", PASSWORD).await;
    browser
        .wait_for(
            "the wallboard",
            "document.body.dataset.view === 'wallboard'",
        )
        .await;
    let row = eventually("agent1's two calls in the report", async || {
        let figures = browser
            .eval(
                "fetch('/api/reports/agents').then(r => r.json()).then(b => b.agents.find(a => a.agent === 'agent1'))",
            )
            .await;
        (figures["calls_answered"] == 2).then_some(figures)
    })
    .await;
    assert_eq!(row["answered_within_sl"], 2, "{row}");
    assert_eq!(row["service_level"], 1.0, "{row}");
    browser.goto(&format!("{base}/#agent-stats")).await;
    let shown = statistics(&mut browser).await;
    assert_eq!(shown["agent1"]["calls_answered"], "2", "{shown}");
    assert_eq!(shown["agent1"]["service_level"], "100%", "{shown}");
    assert!(
        shown["agent1"]["talk_secs"]
            .as_str()
            .is_some_and(|t| t.starts_with("0:0")),
        "{shown}"
    );
    let csv = browser
        .eval("document.querySelector('#agent-stats-csv').getAttribute('href')")
        .await;
    assert!(
        csv.as_str()
            .is_some_and(|h| h.contains("format=csv") && h.contains("from=")),
        "{csv}"
    );
    // Sorted by a column: the agent name, then the other way.
    browser
        .eval("document.querySelector('#agent-stats-rows th[data-key=\"agent\"] button').click(); true")
        .await;
    let sorted = browser
        .eval("document.querySelector('#agent-stats-rows th[data-key=\"agent\"]').getAttribute('aria-sort')")
        .await;
    assert_eq!(sorted, "ascending");
    browser.screenshot("agent-stats-en").await;
    phone_shot(
        &mut browser,
        &format!("{base}/#agent-stats"),
        Screen::Statistics,
        "agent-stats-en-phone",
    )
    .await;

    // The same supervisor in Russian: nothing left in English on either screen.
    let chose = browser
        .eval(
            "fetch('/api/me/language', {method: 'PUT', headers: {'Content-Type': 'application/json'}, \
             body: JSON.stringify({language: 'ru'})}).then(r => r.status)",
        )
        .await;
    assert_eq!(chose, 200);
    // The page starts again in the chosen language (the menu reloads it the same way).
    browser.call("Page.reload", json!({})).await;
    browser
        .wait_for(
            "the page in Russian",
            "document.documentElement?.lang === 'ru' && document.body?.dataset.view === 'agent-stats'",
        )
        .await;
    let shown = statistics(&mut browser).await;
    // Per locale: a space before the sign in Russian.
    assert_eq!(
        shown["agent1"]["service_level"]
            .as_str()
            .map(|p| p.replace(['\u{a0}', '\u{202f}'], " ")),
        Some("100 %".to_owned()),
        "{shown}"
    );
    let heads = browser
        .eval("[...document.querySelectorAll('#agent-stats-rows th')].map(h => h.textContent.replace(/[▲▼]/g, '').trim())")
        .await;
    assert_eq!(heads[5], "Среднее время обработки", "{heads}");
    assert_eq!(heads[6], "Вклад в SL", "{heads}");
    assert_eq!(
        browser.eval(UNTRANSLATED).await,
        json!([]),
        "English left on the Russian statistics"
    );
    browser.screenshot("agent-stats-ru").await;
    phone_shot(
        &mut browser,
        &format!("{base}/#agent-stats"),
        Screen::Statistics,
        "agent-stats-ru-phone",
    )
    .await;

    browser
        .goto(&format!("{base}/#phonebook/contact/{jane}"))
        .await;
    let card = browser
        .wait_for(
            "Jane's card in Russian",
            "!!document.querySelector('#phonebook-calls li') && !!document.querySelector('#phonebook-table') \
             && document.querySelector('#phonebook-detail').textContent",
        )
        .await;
    assert!(card.as_str().unwrap().contains("мобильный"), "{card}");
    assert_eq!(
        browser.eval(UNTRANSLATED).await,
        json!([]),
        "English left on the Russian phone book"
    );
    browser.screenshot("phonebook-ru").await;
    phone_shot(
        &mut browser,
        &format!("{base}/#phonebook/contact/{jane}"),
        Screen::Card,
        "phonebook-ru-phone",
    )
    .await;

    drop(browser);
    service.stop().await;
    sim.shutdown();
}

/// What a phone screenshot shows.
enum Screen {
    /// Jane's card (the record opened below the list), scrolled to the top.
    Card,
    /// The agent statistics.
    Statistics,
}

/// `screen` at a phone's size, once drawn, as screenshot `name`; then the desktop's size again.
async fn phone_shot(browser: &mut Browser, url: &str, screen: Screen, name: &str) {
    phone(browser).await;
    browser.goto(url).await;
    match screen {
        Screen::Card => {
            browser
                .wait_for(
                    "the card on a phone",
                    "!!document.querySelector('#phonebook-calls li') && !!document.querySelector('#phonebook-table')",
                )
                .await;
            show_card(browser).await;
        }
        Screen::Statistics => drop(statistics(browser).await),
    }
    browser.screenshot(name).await;
    desktop(browser).await;
}

/// The opened record at the top of the screen, the "saved" notice gone.
async fn show_card(browser: &mut Browser) {
    browser
        .eval(
            "document.querySelector('#notice').hidden = true; \
             document.querySelector('#phonebook-detail').scrollIntoView(); true",
        )
        .await;
}

/// The statistics table once drawn: each agent's cells by column key, as shown.
async fn statistics(browser: &mut Browser) -> Value {
    browser
        .wait_for(
            "the agent statistics",
            "document.body.dataset.view === 'agent-stats' && \
             !!document.querySelector('#agent-stats-rows tr[data-agent=\"agent1\"]')",
        )
        .await;
    browser
        .eval(
            "Object.fromEntries([...document.querySelectorAll('#agent-stats-rows tbody tr')].map(r => \
             [r.dataset.agent, Object.fromEntries([...r.cells].map(c => [c.dataset.key, c.textContent]))]))",
        )
        .await
}
