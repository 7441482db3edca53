//! Statistics intervals in the store, on SQLite and on PostgreSQL: each write adds its deltas
//! to the rows of the same (queue or agent, interval), the longest wait and the most callers
//! waiting stay maxima, ranges read back in order, and answered callers' promised waits are
//! stored once each and read back by when they were answered.

#[macro_use]
mod common;

use common::{TestDb, TestDbRef};
use switchdesk::acd::stats::{Counters, PromisedWait};
use switchdesk::clock::Millis;
use switchdesk::stats::{AgentInterval, AgentTime, Deltas, QueueInterval, WaitingTime};

on_both_backends!(
    interval_writes_add_up_and_read_back_by_range,
    promised_waits_are_stored_once_and_read_by_answer_time,
);

const FIFTEEN: Millis = 15 * 60_000;
const T0: Millis = 1_800_000_000_000 - 1_800_000_000_000 % FIFTEEN;

fn queue_delta(queue: &str, start: Millis, offered: u64, waited_ms: u64) -> QueueInterval {
    QueueInterval {
        queue: queue.into(),
        start,
        counters: Counters {
            offered,
            answered: 1,
            answered_within_sl: 1,
            total_wait_answered_ms: waited_ms,
            longest_wait_answered_ms: waited_ms,
            abandoned: 1,
            short_abandoned: 1,
            total_wait_abandoned_ms: 2_000,
            calls_ended: 1,
            total_talk_ms: 60_000,
            ..Counters::default()
        },
        waiting: WaitingTime {
            waiting_ms: offered * 60_000,
            peak_waiting: offered,
        },
    }
}

async fn interval_writes_add_up_and_read_back_by_range(db: TestDbRef) {
    let store = db.store;
    let ann = AgentInterval {
        agent: "ann".into(),
        start: T0,
        time: AgentTime {
            calls_answered: 1,
            talk_ms: 60_000,
            login_ms: 900_000,
            available_ms: 500_000,
            in_call_ms: 60_000,
            wrap_up_ms: 5_000,
            ..AgentTime::default()
        },
    };
    store
        .add_intervals(&Deltas {
            queues: vec![
                queue_delta("support", T0, 2, 9_000),
                queue_delta("sales", T0, 1, 1_000),
            ],
            agents: vec![ann.clone()],
            ..Deltas::default()
        })
        .await
        .unwrap();
    // A second flush (or another process) adds to the same rows, and opens the next interval.
    store
        .add_intervals(&Deltas {
            queues: vec![
                queue_delta("support", T0, 3, 4_000),
                queue_delta("support", T0 + FIFTEEN, 1, 30_000),
            ],
            agents: vec![ann],
            ..Deltas::default()
        })
        .await
        .unwrap();

    let all = store
        .queue_intervals(T0, T0 + 2 * FIFTEEN, "")
        .await
        .unwrap();
    let keys: Vec<(&str, Millis)> = all.iter().map(|r| (r.queue.as_str(), r.start)).collect();
    assert_eq!(
        keys,
        vec![("sales", T0), ("support", T0), ("support", T0 + FIFTEEN)]
    );
    let support = &all[1].counters;
    assert_eq!(support.offered, 5);
    assert_eq!(support.answered, 2);
    assert_eq!(support.short_abandoned, 2);
    assert_eq!(support.total_wait_answered_ms, 13_000);
    assert_eq!(support.total_wait_abandoned_ms, 4_000);
    assert_eq!(support.total_talk_ms, 120_000);
    assert_eq!(
        support.longest_wait_answered_ms, 9_000,
        "a maximum, not a sum"
    );
    assert_eq!(
        all[1].waiting,
        WaitingTime {
            waiting_ms: 300_000,
            peak_waiting: 3,
        },
        "waiting time adds up, the peak is a maximum"
    );

    // One queue, and the range's end is exclusive.
    let first = store
        .queue_intervals(T0, T0 + FIFTEEN, "support")
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].start, T0);

    let agents = store.agent_intervals(T0, T0 + FIFTEEN, "").await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].time.calls_answered, 2);
    assert_eq!(agents[0].time.login_ms, 1_800_000);
    assert_eq!(agents[0].time.wrap_up_ms, 10_000);
    assert!(store
        .agent_intervals(T0, T0 + FIFTEEN, "bob")
        .await
        .unwrap()
        .is_empty());
}

fn promise(
    queue: &str,
    call: &str,
    told_at: Millis,
    promised_ms: u64,
    waited: Millis,
) -> PromisedWait {
    PromisedWait {
        queue: queue.into(),
        call: call.into(),
        told_at,
        promised_ms,
        answered_at: told_at + waited,
    }
}

async fn promised_waits_are_stored_once_and_read_by_answer_time(db: TestDbRef) {
    let store = db.store;
    let told_two = promise("support", "c1", T0, 120_000, 150_000);
    let deltas = Deltas {
        promises: vec![
            told_two.clone(),
            promise("sales", "c2", T0 + 1_000, 60_000, 30_000),
            // Answered after the range read below.
            promise("support", "c3", T0 + FIFTEEN - 10_000, 60_000, 20_000),
        ],
        ..Deltas::default()
    };
    store.add_intervals(&deltas).await.unwrap();
    // The same promise again (a write retried after its commit was not heard): one row.
    store
        .add_intervals(&Deltas {
            promises: vec![told_two.clone()],
            ..Deltas::default()
        })
        .await
        .unwrap();
    let support = store
        .wait_promises(T0, T0 + FIFTEEN, "support")
        .await
        .unwrap();
    assert_eq!(support, vec![told_two.clone()]);
    assert_eq!(support[0].actual_ms(), 150_000);
    let all = store.wait_promises(T0, T0 + 2 * FIFTEEN, "").await.unwrap();
    let calls: Vec<&str> = all.iter().map(|p| p.call.as_str()).collect();
    assert_eq!(calls, vec!["c2", "c1", "c3"], "in answer order");
}
