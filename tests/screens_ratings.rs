//! Callers' ratings on the screens, in a real headless Chromium against the service: the
//! manager's tickets mark and filter a low rating, the ticket shows its caller's rating and
//! clears the flag, the report lists the ratings per agent and per queue, and the agent
//! statistics show each agent's ratings and average.

mod browser;
mod common;

use std::time::Duration;

use browser::Browser;
use common::service::{config, simulator, Service};
use switchdesk::cdr::{CallKind, CallRecord, Outcome};
use switchdesk::store::Store;
use switchdesk::tickets::{file_call, TicketRules};
use switchdesk::users::{self, Role};

/// A call `agent` answered in `support`, started a minute ago and rated `rating`, filed as the
/// CDR ingest files it.
async fn rated(store: &Store, id: &str, number: &str, agent: &str, rating: u8) {
    let started_at = switchdesk::clock::now() - 60_000;
    let mut call = CallRecord {
        id: id.into(),
        kind: CallKind::Queue,
        outcome: Outcome::Answered,
        caller_number: number.into(),
        caller_e164: Some(number.into()),
        caller_name: String::new(),
        destination: "7000".into(),
        queue: Some("support".into()),
        agent: Some(agent.into()),
        started_at,
        answered_at: Some(started_at + 2_000),
        ended_at: started_at + 30_000,
        wait_secs: 2,
        talk_secs: 28,
        hangup_cause: "NORMAL_CLEARING".into(),
        recording: None,
        identified: "unknown".into(),
        contact_id: None,
        organization_id: None,
        vip: false,
        ticket_id: None,
        rating: Some(rating),
    };
    let mut tx = store.begin_calls().await.unwrap();
    file_call(
        &mut tx,
        &mut call,
        &[],
        &TicketRules::default(),
        false,
        started_at + 31_000,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_sees_callers_ratings_and_clears_a_low_ones_flag() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let db = common::TestDb::sqlite().await;
    let sim = simulator(73, Duration::from_secs(20)).await;
    let spool = tempfile::tempdir().unwrap();
    let config = config(&db, &sim, spool.path());
    users::add_user(&db.store, "meg", Role::Manager, "meg-password")
        .await
        .unwrap();
    rated(&db.store, "call-4", "+15550104", "alice", 4).await;
    rated(&db.store, "call-1", "+15550101", "bob", 1).await;
    let service = Service::start(config).await;
    browser.sign_in(&service.base, "meg", "meg-password").await;
    browser.goto(&format!("{}/#manager", service.base)).await;

    // The low rating is marked in the list, and the filter finds only that ticket.
    let marked = browser
        .wait_for(
            "the low rating marked in the tickets list",
            "(() => { const tags = [...document.querySelectorAll('#tickets tbody tr .low-rating')]; \
               return tags.length === 1 ? tags[0].textContent.trim() : false; })()",
        )
        .await;
    assert_eq!(marked, "rated 1/5");
    browser
        .eval(
            "document.querySelector('#filter-low-rating').checked = true; \
             document.querySelector('#ticket-filters button[type=submit]').click(); true",
        )
        .await;
    let flagged = browser
        .wait_for(
            "only the flagged ticket listed",
            "(() => { const rows = [...document.querySelectorAll('#tickets tbody tr')]; \
               return rows.length === 1 && rows[0].querySelector('.low-rating') ? rows[0].dataset.ticket : false; })()",
        )
        .await;

    // The ticket shows its caller's rating; a manager clears the flag.
    browser
        .eval(&format!(
            "document.querySelector('#tickets tbody tr[data-ticket=\"{}\"]').click(); true",
            flagged.as_str().unwrap()
        ))
        .await;
    browser
        .wait_for(
            "the rating in the ticket",
            "[...document.querySelectorAll('#ticket-detail dd')].some(d => d.textContent === 'Rated 1 of 5 · rated low') \
               && !!document.querySelector('#detail-unflag')",
        )
        .await;
    browser.screenshot("manager-ticket-rated-low").await;
    browser
        .eval("document.querySelector('#detail-unflag').click(); true")
        .await;
    browser
        .wait_for(
            "the flag cleared",
            "[...document.querySelectorAll('#ticket-detail dd')].some(d => d.textContent === 'Rated 1 of 5') \
               && !document.querySelector('#detail-unflag') \
               && !document.querySelector('#tickets tbody tr .low-rating')",
        )
        .await;

    // The report: per agent, then per queue.
    let agents = browser
        .wait_for(
            "the ratings per agent",
            "(() => { const rows = [...document.querySelectorAll('#ratings-table tbody tr')]; \
               return rows.length === 2 ? rows.map(r => [...r.cells].map(c => c.textContent)) : false; })()",
        )
        .await;
    assert_eq!(agents[0][0], "alice", "{agents}");
    assert_eq!(agents[0][1], "1", "{agents}");
    assert_eq!(agents[0][2], "4.0", "{agents}");
    assert_eq!(agents[1][0], "bob", "{agents}");
    browser
        .eval(
            "const by = document.querySelector('#ratings-by'); by.value = 'queue'; \
             by.dispatchEvent(new Event('change')); true",
        )
        .await;
    let queues = browser
        .wait_for(
            "the ratings per queue",
            "(() => { const rows = [...document.querySelectorAll('#ratings-table tbody tr')]; \
               return rows.length === 1 && rows[0].dataset.name === 'support' \
                 ? [...rows[0].cells].map(c => c.textContent) : false; })()",
        )
        .await;
    assert_eq!(queues[1], "2", "{queues}");
    assert_eq!(queues[2], "2.5", "{queues}");
    let csv = browser
        .eval("document.querySelector('#ratings-csv').getAttribute('href')")
        .await;
    assert!(
        csv.as_str().unwrap().contains("by=queue") && csv.as_str().unwrap().contains("format=csv"),
        "{csv}"
    );
    browser
        .eval("document.querySelector('#ratings-table').scrollIntoView(); true")
        .await;
    browser.screenshot("manager-ratings-report").await;

    // The agent statistics: each agent's ratings and average.
    browser
        .goto(&format!("{}/#agent-stats", service.base))
        .await;
    let alice = browser
        .wait_for(
            "alice's ratings in the agent statistics",
            "(() => { const heads = [...document.querySelectorAll('#agent-stats-table th')].map(h => h.textContent); \
               const column = heads.findIndex(h => h.startsWith('Average rating')); \
               const row = [...document.querySelectorAll('#agent-stats-table tbody tr')] \
                 .find(r => r.cells[0].textContent === 'alice'); \
               return column >= 0 && row ? row.cells[column].textContent : false; })()",
        )
        .await;
    assert_eq!(alice, "4.0");
    service.stop().await;
    sim.shutdown();
}
