//! Tickets in the database, on SQLite and PostgreSQL: SLA clocks escalate once, people's
//! edits and notes stamp the response and resolution, and the helpdesk webhook is retried
//! until a real HTTP receiver accepts it (or given up, visibly).

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::{TestDb, TestDbRef};
use switchdesk::config::Secret;
use switchdesk::store::Store;
use switchdesk::tickets::webhook::deliver_due;
use switchdesk::tickets::{
    sla, NewTicket, Status, Ticket, TicketEvent, TicketKind, TicketPatch, WebhookConfig,
};
use tokio::sync::{broadcast, Notify};

fn new_ticket(created_at: i64, first_due: i64, resolution_due: i64) -> NewTicket {
    NewTicket {
        subject: "Printer on fire".into(),
        status: Status::New,
        priority: 1,
        starred: false,
        kind: TicketKind::Callback,
        organization_id: None,
        contact_id: None,
        caller_number: "+15550001".into(),
        unidentified: true,
        queue: Some("support".into()),
        created_at,
        last_call_at: Some(created_at),
        first_response_at: None,
        first_response_due: Some(first_due),
        resolution_due: Some(resolution_due),
    }
}

async fn sla_clocks_escalate_once_and_are_queued_for_the_helpdesk(db: TestDbRef) {
    let store = &db.store;
    let now = 1_800_000_000_000;
    let late = store
        .open_ticket(
            &new_ticket(now - 3_600_000, now - 60_000, now + 60_000),
            true,
        )
        .await
        .unwrap();
    let fine = store
        .open_ticket(&new_ticket(now, now + 60_000, now + 120_000), true)
        .await
        .unwrap();
    let (events, mut seen) = broadcast::channel(16);
    let wake = Notify::new();
    assert_eq!(
        sla::escalate_due(store, &events, Some(&wake), now)
            .await
            .unwrap(),
        1
    );
    match seen.try_recv().unwrap() {
        TicketEvent::Escalated { ticket, clock } => {
            assert_eq!((ticket.id, clock.as_str()), (late.id, "first_response"));
            assert!(ticket.first_response_breached && !ticket.resolution_breached);
        }
        other => panic!("expected an escalation, got {other:?}"),
    }
    // Once only.
    assert_eq!(
        sla::escalate_due(store, &events, Some(&wake), now)
            .await
            .unwrap(),
        0
    );
    // Later the resolution clock of the late one runs out too; the other is answered in time.
    store
        .add_note(
            fine.id,
            "alice",
            "Called back, printer unplugged",
            now + 1_000,
        )
        .await
        .unwrap();
    let after = now + 600_000;
    assert_eq!(
        sla::escalate_due(store, &events, None, after)
            .await
            .unwrap(),
        2
    );
    let fine = store.ticket(fine.id).await.unwrap().unwrap();
    assert_eq!(fine.first_response_at, Some(now + 1_000));
    assert_eq!(fine.status, Status::Open, "a note answers a new ticket");
    assert!(!fine.first_response_breached && fine.resolution_breached);
    let breached = store
        .tickets(&switchdesk::store::TicketFilter {
            breached: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(breached.len(), 2);
    // Two creations and the first escalation went to the webhook outbox (the last pass had no
    // webhook).
    let queued: Vec<String> = store
        .webhooks(10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.event)
        .collect();
    assert_eq!(
        queued,
        ["ticket.escalated", "ticket.created", "ticket.created"]
    );
}

async fn resolving_and_reopening_stamp_the_ticket(db: TestDbRef) {
    let store = &db.store;
    let ticket = store
        .open_ticket(&new_ticket(1_000, 2_000, 3_000), false)
        .await
        .unwrap();
    let patch = TicketPatch {
        status: Some(Status::Resolved),
        starred: Some(true),
        ..TicketPatch::default()
    };
    let resolved = store
        .update_ticket(ticket.id, &patch, 5_000, false)
        .await
        .unwrap();
    assert_eq!(resolved.resolved_at, Some(5_000));
    assert_eq!(resolved.first_response_at, Some(5_000));
    assert!(resolved.starred);
    let reopened = store
        .update_ticket(
            ticket.id,
            &TicketPatch {
                status: Some(Status::Open),
                ..TicketPatch::default()
            },
            6_000,
            false,
        )
        .await
        .unwrap();
    assert_eq!(reopened.resolved_at, None);
    assert_eq!(
        reopened.first_response_at,
        Some(5_000),
        "kept from the first change"
    );
    assert!(reopened.starred);
    assert!(store
        .update_ticket(9_999, &TicketPatch::default(), 1, false)
        .await
        .is_err());
}

/// A helpdesk that fails `failures` times, then accepts; it records what it was sent.
struct Helpdesk {
    url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

async fn helpdesk(failures: usize) -> Helpdesk {
    let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body));
                if log.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Helpdesk { url, received }
}

fn webhook_config(url: &str, max_attempts: u32) -> WebhookConfig {
    WebhookConfig {
        url: url.to_owned(),
        token: Secret::new("helpdesk-token"),
        max_attempts,
        backoff_initial_ms: 10,
        backoff_max_ms: 20,
        ..WebhookConfig::default()
    }
}

/// Runs delivery passes until nothing is pending.
async fn deliver_all(store: &Store, config: &WebhookConfig) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        deliver_due(store, config, &client).await.unwrap();
        if store
            .webhooks(100)
            .await
            .unwrap()
            .iter()
            .all(|d| d.state != "pending")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("deliveries still pending");
}

async fn the_webhook_is_retried_until_the_helpdesk_accepts(db: TestDbRef) {
    let store = &db.store;
    let desk = helpdesk(2).await;
    let ticket: Ticket = store
        .open_ticket(&new_ticket(1_000, 2_000, 3_000), true)
        .await
        .unwrap();
    deliver_all(store, &webhook_config(&desk.url, 5)).await;
    let received = desk.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "two failures, then accepted");
    let keys: Vec<&str> = received
        .iter()
        .map(|(h, _)| h["idempotency-key"].to_str().unwrap())
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    let (headers, body) = &received[2];
    assert_eq!(headers["authorization"], "Bearer helpdesk-token");
    assert_eq!(headers["x-switchdesk-event"], "ticket.created");
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["event"], "created");
    assert_eq!(payload["ticket"]["id"], ticket.id);
    assert_eq!(payload["ticket"]["subject"], "Printer on fire");
    let delivery = &store.webhooks(1).await.unwrap()[0];
    assert_eq!(
        (delivery.state.as_str(), delivery.attempts),
        ("delivered", 3)
    );
}

async fn a_webhook_that_keeps_failing_is_given_up_visibly(db: TestDbRef) {
    let store = &db.store;
    let desk = helpdesk(usize::MAX).await;
    store
        .open_ticket(&new_ticket(1_000, 2_000, 3_000), true)
        .await
        .unwrap();
    deliver_all(store, &webhook_config(&desk.url, 3)).await;
    assert_eq!(desk.received.lock().unwrap().len(), 3);
    let delivery = &store.webhooks(1).await.unwrap()[0];
    assert_eq!((delivery.state.as_str(), delivery.attempts), ("failed", 3));
    assert!(
        delivery.last_error.contains("500"),
        "{}",
        delivery.last_error
    );
}

on_both_backends!(
    sla_clocks_escalate_once_and_are_queued_for_the_helpdesk,
    resolving_and_reopening_stamp_the_ticket,
    the_webhook_is_retried_until_the_helpdesk_accepts,
    a_webhook_that_keeps_failing_is_given_up_visibly,
);
