//! The database reads a support desk makes all day, at a year of calls: 1,000,000 calls and
//! 200,000 tickets in SQLite (file on disk, WAL), through the store as the API uses it. Each
//! query is timed one at a time (p50, p99 over a spread of keys): the agent's pop-up (last
//! five calls of a contact, or of a number; open tickets of the contact), the calls list by
//! queue, agent and outcome, and the tickets list (starred first, newest first) by status,
//! queue and agent. Target: p99 < 5 ms each.

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use switchdesk::cdr::{CallKind, CallRecord, Outcome};
use switchdesk::directory::model::{Contact, Organization};
use switchdesk::store::{CallFilter, Store, TicketFilter};
use switchdesk::tickets::{NewTicket, Status, TicketKind, TimeEntry};

const CALLS: usize = 1_000_000;
const TICKETS: usize = 200_000;
const CONTACTS: i64 = 50_000;
const ORGANIZATIONS: i64 = 2_000;
const QUEUES: [&str; 8] = [
    "support", "sales", "billing", "vip", "night", "l2", "l3", "fax",
];
const AGENTS: usize = 60;
const BATCH: usize = 20_000;
/// 2026-01-01 in Unix ms; calls spread over a year.
const YEAR_START: i64 = 1_767_225_600_000;

fn number_of(contact: i64) -> String {
    format!("+7495{:07}", contact)
}

fn call(i: usize) -> CallRecord {
    let contact = (i as i64 * 7919) % CONTACTS;
    let started = YEAR_START + (i as i64) * 31_536;
    let outcome = match i % 10 {
        0 => Outcome::Abandoned,
        1 => Outcome::Voicemail,
        _ => Outcome::Answered,
    };
    CallRecord {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        kind: CallKind::Queue,
        outcome,
        caller_number: number_of(contact),
        caller_e164: Some(number_of(contact)),
        caller_name: format!("Caller {contact}"),
        destination: "8000".into(),
        queue: Some(QUEUES[i % QUEUES.len()].into()),
        agent: Some(format!("agent{}", i % AGENTS)),
        started_at: started,
        answered_at: Some(started + 20_000),
        ended_at: started + 200_000,
        wait_secs: 20,
        talk_secs: 180,
        hangup_cause: "NORMAL_CLEARING".into(),
        recording: None,
        identified: "exact".into(),
        // Every fifth caller is not in the phone book: found by number only.
        contact_id: (i % 5 != 0).then_some(contact + 1),
        organization_id: Some(contact % ORGANIZATIONS + 1),
        vip: false,
        ticket_id: None,
        rating: None,
    }
}

async fn seed(store: &Store) {
    let started = Instant::now();
    // The phone book the calls and tickets point at (ids 1..).
    let organizations: Vec<Organization> = (0..ORGANIZATIONS)
        .map(|o| Organization {
            name: format!("Organization {o}"),
            ..Organization::default()
        })
        .collect();
    for chunk in organizations.chunks(BATCH) {
        store.save_records(chunk).await.unwrap();
    }
    let contacts: Vec<Contact> = (0..CONTACTS)
        .map(|c| Contact {
            first_name: format!("Contact{c}"),
            last_name: "Doe".into(),
            organization_id: Some(c % ORGANIZATIONS + 1),
            ..Contact::default()
        })
        .collect();
    for chunk in contacts.chunks(BATCH) {
        store.save_records(chunk).await.unwrap();
    }
    let mut ticket_ids = Vec::with_capacity(TICKETS);
    for start in (0..TICKETS).step_by(BATCH) {
        let mut tx = store.begin_calls().await.unwrap();
        for i in start..(start + BATCH).min(TICKETS) {
            let contact = (i as i64 * 104_729) % CONTACTS;
            let status = match i % 4 {
                0 => Status::Open,
                1 => Status::Resolved,
                2 => Status::Closed,
                _ => Status::New,
            };
            let ticket = tx
                .create_ticket(&NewTicket {
                    subject: format!("Call from {}", number_of(contact)),
                    category: "information".into(),
                    status,
                    priority: 2,
                    starred: i % 50 == 0,
                    kind: TicketKind::Call,
                    organization_id: Some(contact % ORGANIZATIONS + 1),
                    contact_id: Some(contact + 1),
                    caller_number: number_of(contact),
                    unidentified: false,
                    queue: Some(QUEUES[i % QUEUES.len()].into()),
                    assignee: None,
                    created_at: YEAR_START + (i as i64) * 157_680,
                    last_call_at: None,
                    first_response_at: None,
                    first_response_due: None,
                    resolution_due: None,
                })
                .await
                .unwrap();
            tx.book_time(&TimeEntry {
                id: 0,
                ticket_id: ticket.id,
                call_id: None,
                leg_uuid: Some(format!("leg-{i}")),
                agent: format!("agent{}", i % AGENTS),
                queue: Some(QUEUES[i % QUEUES.len()].into()),
                seconds: 180,
                hourly_rate_cents: 3_000,
                cost_cents: TimeEntry::cost(180, 3_000),
                at: YEAR_START + (i as i64) * 157_680,
            })
            .await
            .unwrap();
            ticket_ids.push(ticket.id);
        }
        tx.commit().await.unwrap();
    }
    for start in (0..CALLS).step_by(BATCH) {
        let mut tx = store.begin_calls().await.unwrap();
        for i in start..(start + BATCH).min(CALLS) {
            let mut record = call(i);
            record.ticket_id = Some(ticket_ids[i % TICKETS]);
            tx.save_call(&record, record.ended_at).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!(
        "queries: seeded {CALLS} calls and {TICKETS} tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `query` once per key and prints p50 and p99.
async fn measure<F, Fut>(name: &str, keys: usize, mut query: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times = Vec::with_capacity(keys);
    let mut rows = 0;
    for key in 0..keys {
        let started = Instant::now();
        rows += query(key).await;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "queries {name}: p50 {:?}, p99 {:?}, max {:?} ({keys} queries, {rows} rows)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
}

fn bench(c: &mut Criterion) {
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, _db) = runtime.block_on(support::fresh(None));
    runtime.block_on(seed(&store));
    let text = |v: String| Some(v);
    runtime.block_on(async {
        measure("pop-up: last calls of a contact", 500, |k| {
            let filter = CallFilter {
                contact_id: Some((k as i64 * 97) % CONTACTS + 1),
                limit: Some(5),
                ..CallFilter::default()
            };
            let store = store.clone();
            async move { store.calls(&filter).await.unwrap().len() }
        })
        .await;
        measure("pop-up: last calls of a number", 500, |k| {
            let filter = CallFilter {
                caller_number: text(number_of((k as i64 * 89) % CONTACTS)),
                limit: Some(5),
                ..CallFilter::default()
            };
            let store = store.clone();
            async move { store.calls(&filter).await.unwrap().len() }
        })
        .await;
        measure("pop-up: open tickets of a contact", 500, |k| {
            let filter = TicketFilter {
                status: text("open".into()),
                contact_id: Some((k as i64 * 83) % CONTACTS + 1),
                limit: Some(20),
                ..TicketFilter::default()
            };
            let store = store.clone();
            async move { store.tickets(&filter).await.unwrap().len() }
        })
        .await;
        for (name, make) in [
            ("calls by queue", 0),
            ("calls by agent", 1),
            ("calls by outcome", 2),
        ] {
            measure(name, 200, |k| {
                let filter = match make {
                    0 => CallFilter {
                        queue: text(QUEUES[k % QUEUES.len()].into()),
                        ..CallFilter::default()
                    },
                    1 => CallFilter {
                        agent: text(format!("agent{}", k % AGENTS)),
                        ..CallFilter::default()
                    },
                    _ => CallFilter {
                        outcome: text(["abandoned", "voicemail", "answered"][k % 3].into()),
                        ..CallFilter::default()
                    },
                };
                let store = store.clone();
                async move { store.calls(&filter).await.unwrap().len() }
            })
            .await;
        }
        for (name, make) in [
            ("tickets, starred then newest", 0),
            ("tickets by status", 1),
            ("tickets by queue", 2),
            ("tickets by agent", 3),
        ] {
            measure(name, 200, |k| {
                let filter = match make {
                    0 => TicketFilter::default(),
                    1 => TicketFilter {
                        status: text(["open", "resolved", "closed"][k % 3].into()),
                        ..TicketFilter::default()
                    },
                    2 => TicketFilter {
                        queue: text(QUEUES[k % QUEUES.len()].into()),
                        ..TicketFilter::default()
                    },
                    _ => TicketFilter {
                        agent: text(format!("agent{}", k % AGENTS)),
                        ..TicketFilter::default()
                    },
                };
                let store = store.clone();
                async move { store.tickets(&filter).await.unwrap().len() }
            })
            .await;
        }
    });

    let mut group = c.benchmark_group("queries");
    group.sample_size(50);
    group.bench_function("popup_last_calls_of_a_contact", |b| {
        let mut k = 0i64;
        b.iter(|| {
            k += 1;
            let filter = CallFilter {
                contact_id: Some((k * 97) % CONTACTS + 1),
                limit: Some(5),
                ..CallFilter::default()
            };
            runtime.block_on(store.calls(&filter)).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
