//! Callers' ratings in the store, on SQLite and on PostgreSQL: a rated call filed through the
//! ticket rules carries its rating, puts it on its ticket once however often its legs rebuild
//! it, a low one flags the ticket (listed by `low_rating`, cleared by a manager's patch), and
//! the rated calls of a period read back for the reports.

#[macro_use]
mod common;

use common::{TestDb, TestDbRef};
use switchdesk::cdr::{CallKind, CallRecord, Outcome};
use switchdesk::stats::ratings::{self, By};
use switchdesk::stats::report::{self, Step};
use switchdesk::stats::StatsConfig;
use switchdesk::store::TicketFilter;
use switchdesk::tickets::{file_call, TicketEvent, TicketPatch, TicketRules};

on_both_backends!(a_rating_lands_on_the_call_and_its_ticket_and_a_low_one_flags_it);

const T0: i64 = 1_800_000_000_000;

fn rated_call(id: &str, started_at: i64, rating: Option<u8>) -> CallRecord {
    CallRecord {
        id: id.to_owned(),
        kind: CallKind::Queue,
        outcome: Outcome::Answered,
        caller_number: "+15550001".into(),
        caller_e164: Some("+15550001".into()),
        caller_name: "Jane".into(),
        destination: "7000".into(),
        queue: Some("support".into()),
        agent: Some("alice".into()),
        started_at,
        answered_at: Some(started_at + 1_000),
        ended_at: started_at + 60_000,
        wait_secs: 1,
        talk_secs: 59,
        hangup_cause: "NORMAL_CLEARING".into(),
        recording: None,
        identified: "unknown".into(),
        contact_id: None,
        organization_id: None,
        vip: false,
        ticket_id: None,
        rating,
    }
}

async fn file(db: &TestDbRef, call: &CallRecord, at: i64) -> Vec<TicketEvent> {
    let rules = TicketRules::default();
    let mut tx = db.store.begin_calls().await.unwrap();
    let mut call = call.clone();
    let events = file_call(&mut tx, &mut call, &[], &rules, true, at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    events
}

async fn a_rating_lands_on_the_call_and_its_ticket_and_a_low_one_flags_it(db: TestDbRef) {
    let store = db.store.clone();
    // Jane rates her call 4: the call and its new ticket carry it, no flag.
    let first = rated_call("call-1", T0, Some(4));
    let events = file(&db, &first, T0 + 70_000).await;
    let call = store.call("call-1").await.unwrap().unwrap();
    assert_eq!(call.rating, Some(4));
    let ticket_id = call.ticket_id.unwrap();
    let ticket = store.ticket(ticket_id).await.unwrap().unwrap();
    assert_eq!((ticket.rating, ticket.low_rating), (Some(4), false));
    assert!(
        matches!(events.last(), Some(TicketEvent::Updated { .. })),
        "{events:?}"
    );
    // The agent leg arrives and rebuilds the call: the rating is not put on again.
    let again = file(&db, &first, T0 + 71_000).await;
    assert!(again.is_empty(), "{again:?}");

    // She calls again within the repeat window and rates 1: the same ticket, flagged.
    let second = rated_call("call-2", T0 + 600_000, Some(1));
    let events = file(&db, &second, T0 + 700_000).await;
    let flagged = store.ticket(ticket_id).await.unwrap().unwrap();
    assert_eq!((flagged.rating, flagged.low_rating), (Some(1), true));
    assert!(
        events.iter().any(
            |e| matches!(e, TicketEvent::LowRating { rating: 1, ticket } if ticket.id == ticket_id)
        ),
        "{events:?}"
    );
    assert_eq!(events.last().unwrap().name(), "ticket.low_rating");
    // The helpdesk hears of it too.
    let deliveries = store.webhooks(50).await.unwrap();
    assert!(deliveries.iter().any(|d| d.event == "ticket.low_rating"));

    // A call nobody rated changes nothing.
    let unrated = rated_call("call-3", T0 + 900_000, None);
    file(&db, &unrated, T0 + 960_000).await;
    assert_eq!(store.call("call-3").await.unwrap().unwrap().rating, None);

    // The flag lists the ticket, until a manager clears it.
    let low = TicketFilter {
        low_rating: Some(true),
        ..TicketFilter::default()
    };
    let listed = store.tickets(&low).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [ticket_id]);
    assert_eq!(store.count_tickets(&low).await.unwrap(), 1);
    let cleared = store
        .update_ticket(
            ticket_id,
            &TicketPatch {
                low_rating: Some(false),
                ..TicketPatch::default()
            },
            T0 + 1_000_000,
            false,
            None,
            None,
        )
        .await
        .unwrap();
    assert!(!cleared.low_rating);
    assert_eq!(cleared.rating, Some(1), "the rating stays");
    assert!(store.tickets(&low).await.unwrap().is_empty());

    // The rated calls of the period, for the reports.
    let rated = store.rated_calls(T0, T0 + 3_600_000, "").await.unwrap();
    assert_eq!(
        rated.iter().map(|r| r.rating).collect::<Vec<_>>(),
        [4, 1],
        "oldest first, unrated calls left out"
    );
    assert!(store
        .rated_calls(T0, T0 + 3_600_000, "bob")
        .await
        .unwrap()
        .is_empty());
    let day = StatsConfig::default().day();
    let rows = ratings::rows(
        &rated,
        By::Queue,
        Step::Whole,
        T0,
        T0 + 3_600_000,
        &day,
        &Default::default(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].ratings, rows[0].average_rating), (2, Some(2.5)));
    // The agent who answered has them in their statistics.
    let agents = report::agent_rows(&[], &rated, Step::Whole, T0, T0 + 3_600_000, &day);
    assert_eq!(agents[0].agent, "alice");
    assert_eq!(
        (agents[0].ratings, agents[0].average_rating),
        (2, Some(2.5))
    );
}
