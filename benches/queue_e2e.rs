//! The whole path through the simulated switch over real ESL: callers park, the switchboard
//! answers them and rings agents, agents answer, callers are bridged, talk briefly and hang up.
//! Reports new calls per second with nobody lost (criterion, batches of 200 callers arriving at
//! once to 40 agents), and two latencies seen by an ESL observer: from an agent's previous call
//! ending (its leg's CHANNEL_HANGUP_COMPLETE) to that agent's next leg being created, while
//! callers wait (measured in the bursts); and from a caller's CHANNEL_PARK to the
//! CHANNEL_CREATE of the agent leg rung for them, while agents are free (1,000 callers at
//! 200 a second afterwards). In that second run it also reports the agent leg's
//! CHANNEL_ANSWER → the caller's CHANNEL_BRIDGE (one agent is rung by the caller's own
//! `bridge`, so this is FreeSWITCH's, here the simulator's, own step), and the ESL commands the
//! switch received per call, by kind (`api uuid_answer`, `sendmsg`...). Last, park → agent
//! rung again with the writer stalled: another connection holds SQLite's write lock for 10 s
//! while a queue's settings wait to be saved and 1,000 callers arrive, 200 a second.
//!
//! `cargo bench --bench queue_e2e -- stalled` skips the bursts and gives both park → rung
//! figures.

use std::collections::{BTreeMap, HashMap};
use std::future::Future as _;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchdesk::acd::{AgentConfig, AgentStatus, Membership, QueueConfig};
use switchdesk::config::EslConfig;
use switchdesk::esl::{Connection, ConnectionEvent};
use switchdesk::sim::{AgentBehaviour, CallSpec, SimConfig, Simulator};
use switchdesk::store::Store;
use switchdesk::switch::{Board, BoardOptions, EVENTS};
use tokio::net::TcpListener;

const AGENTS: u32 = 40;
const BATCH: usize = 200;

#[derive(Default)]
struct Latencies {
    parked: HashMap<String, Instant>,
    agent_free: HashMap<String, Instant>,
    park_to_ring: Vec<Duration>,
    free_to_ring: Vec<Duration>,
    /// Callers whose agent leg answered, by caller UUID.
    agent_answered: HashMap<String, Instant>,
    answer_to_bridge: Vec<Duration>,
}

/// What a command line is, for counting: `api uuid_break`, `bgapi originate`, `sendmsg`.
fn kind(line: &str) -> String {
    let mut words = line.split(' ');
    match (words.next(), words.next()) {
        (Some(verb @ ("api" | "bgapi")), Some(command)) => format!("{verb} {command}"),
        (Some(verb), _) => verb.to_owned(),
        _ => String::new(),
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples
        .get(((samples.len().max(1) - 1) as f64 * p) as usize)
        .copied()
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let board_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(BOARD_THREADS)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/bench.db", dir.path().display());
    let latencies = Arc::new(Mutex::new(Latencies::default()));
    let (sim, board, observer) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(
            listener,
            SimConfig {
                seed: 9,
                ..SimConfig::default()
            },
        )
        .await
        .unwrap();
        for n in 1..=AGENTS {
            let answer = AgentBehaviour::Answer {
                ring: Duration::from_millis(5),
                talk: None,
            };
            sim.add_endpoint(&format!("user/{}@default", 1000 + n), answer)
                .await
                .unwrap();
        }
        // The switchboard, its ESL client and its store run on a runtime of their own, so
        // their threads' CPU time is switchdesk's share of a call (the simulator's is not).
        let board_db = db_url.clone();
        let port = sim.addr().port();
        let board = board_runtime
            .spawn(async move {
                let store = Store::connect(&board_db, 4).await.unwrap();
                let mut queue = QueueConfig::named("support");
                queue.wrap_up_secs = 0;
                queue.prompts.hold_music =
                    "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
                let agents: Vec<AgentConfig> = (1..=AGENTS)
                    .map(|n| AgentConfig {
                        name: format!("agent{n}"),
                        endpoint: format!("user/{}@default", 1000 + n).parse().unwrap(),
                        queues: vec![Membership {
                            queue: "support".into(),
                            tier: 1,
                            position: n,
                        }],
                    })
                    .collect();
                let config = EslConfig {
                    host: "127.0.0.1".into(),
                    port,
                    ..EslConfig::default()
                };
                let mut options = config.connection_options("fs1");
                options.events = EVENTS.iter().map(|e| (*e).to_owned()).collect();
                let (connection, events) = Connection::spawn_with_subscriber(options);
                Board::start(
                    vec![(connection, events)],
                    store,
                    &[queue],
                    &agents,
                    BoardOptions::new(3),
                )
                .await
                .unwrap()
            })
            .await
            .unwrap();
        for n in 1..=AGENTS {
            board
                .set_agent_status(&format!("agent{n}"), AgentStatus::Available)
                .await
                .unwrap();
        }
        let config = EslConfig {
            host: "127.0.0.1".into(),
            port,
            ..EslConfig::default()
        };
        // An observer connection, like an operator's `esl tail`, times what the switch saw.
        let mut observer = config.connection_options("observer");
        observer.events = vec![
            "CHANNEL_PARK".into(),
            "CHANNEL_CREATE".into(),
            "CHANNEL_ANSWER".into(),
            "CHANNEL_BRIDGE".into(),
            "CHANNEL_HANGUP_COMPLETE".into(),
        ];
        observer.event_buffer = 1 << 20;
        let (observer, mut seen) = Connection::spawn_with_subscriber(observer);
        let latencies = latencies.clone();
        tokio::spawn(async move {
            while let Ok(event) = seen.recv().await {
                let ConnectionEvent::Events(batch) = event else {
                    continue;
                };
                let now = Instant::now();
                let mut l = latencies.lock().unwrap();
                for event in &batch {
                    match (
                        event.name().as_deref(),
                        event.variable("switchdesk_caller_uuid"),
                        event.variable("switchdesk_agent"),
                    ) {
                        (Some("CHANNEL_PARK"), None, _) => {
                            if let Some(uuid) = event.unique_id() {
                                l.parked.insert(uuid.into_owned(), now);
                            }
                        }
                        (Some("CHANNEL_CREATE"), Some(caller), Some(agent)) => {
                            if let Some(at) = l.parked.remove(caller.as_ref()) {
                                l.park_to_ring.push(now - at);
                            }
                            if let Some(at) = l.agent_free.remove(agent.as_ref()) {
                                l.free_to_ring.push(now - at);
                            }
                        }
                        (Some("CHANNEL_HANGUP_COMPLETE"), Some(_), Some(agent)) => {
                            l.agent_free.insert(agent.into_owned(), now);
                        }
                        (Some("CHANNEL_ANSWER"), Some(caller), Some(_)) => {
                            l.agent_answered.insert(caller.into_owned(), now);
                        }
                        (Some("CHANNEL_BRIDGE"), _, _) => {
                            for side in ["Bridge-A-Unique-ID", "Bridge-B-Unique-ID"] {
                                let Some(uuid) = event.get(side) else {
                                    continue;
                                };
                                if let Some(at) = l.agent_answered.remove(uuid.as_ref()) {
                                    l.answer_to_bridge.push(now - at);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        (sim, board, observer)
    });

    let mut group = c.benchmark_group("queue_e2e");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("calls_through_simulator_200_callers_40_agents", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    // Only an agent freed while callers wait counts toward "free -> next offer".
                    latencies.lock().unwrap().agent_free.clear();
                    let before = board.queues().await.unwrap()[0].counters.clone();
                    for n in 0..BATCH {
                        let spec = CallSpec {
                            from_number: format!("+1555{n:07}"),
                            destination: "7000".into(),
                            talk: Some(Duration::from_millis(20)),
                            ..CallSpec::default()
                        };
                        sim.place_call(spec).await.unwrap();
                    }
                    // Done when every caller of the batch was answered and the switch is empty.
                    loop {
                        let now = board.queues().await.unwrap()[0].counters.clone();
                        if now.answered - before.answered == BATCH as u64
                            && sim.channels().await.unwrap().is_empty()
                        {
                            assert_eq!(now.abandoned, before.abandoned, "a caller was lost");
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
                started.elapsed()
            })
        });
    });
    group.finish();
    // Agent free -> next offer was measured in the bursts, where callers always wait.
    let mut free_to_ring = std::mem::take(&mut latencies.lock().unwrap().free_to_ring);
    // Park -> agent rung is the reaction to a caller when an agent is free: callers arrive
    // 200 a second, one every 5 ms, and each talks 20 ms, so 40 agents are never all busy.
    {
        let mut l = latencies.lock().unwrap();
        l.park_to_ring.clear();
        l.answer_to_bridge.clear();
    }
    // The command log keeps the last 50,000 lines: a marker line starts this run's share.
    const MARK: &str = "api switchdesk_bench_mark";
    let cpu_before = switchdesk_cpu();
    runtime.block_on(async {
        let _ = observer.api("switchdesk_bench_mark").await;
        let before = answered(&board).await;
        thousand_callers(&sim, &board, "+1666", before).await;
    });
    let cpu = switchdesk_cpu() - cpu_before;
    println!(
        "queue_e2e CPU per queued call at 200 calls/s: {:.2} ms (switchboard, its ESL client and SQLite writer threads: {cpu:.2?} for 1,000 calls)",
        cpu.as_secs_f64() * 1000.0 / 1000.0
    );
    let log = sim.commands_received();
    let start = log.iter().rposition(|c| c == MARK).map_or(0, |i| i + 1);
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    for line in &log[start..] {
        *per_kind.entry(kind(line)).or_default() += 1;
    }
    let total: usize = per_kind.values().sum();
    let kinds: Vec<String> = per_kind
        .iter()
        .map(|(k, n)| format!("{k} {:.2}", *n as f64 / 1000.0))
        .collect();
    println!(
        "queue_e2e commands per call (1,000 calls): {:.2} in all; {}",
        total as f64 / 1000.0,
        kinds.join(", ")
    );
    let mut l = latencies.lock().unwrap();
    let (a2b_50, a2b_99) = (
        percentile(&mut l.answer_to_bridge, 0.5),
        percentile(&mut l.answer_to_bridge, 0.99),
    );
    println!(
        "queue_e2e latency: agent leg answered -> caller bridged p50 {a2b_50:?} p99 {a2b_99:?} ({} calls)",
        l.answer_to_bridge.len()
    );
    let (p2r_50, p2r_99) = (
        percentile(&mut l.park_to_ring, 0.5),
        percentile(&mut l.park_to_ring, 0.99),
    );
    let (f2r_50, f2r_99) = (
        percentile(&mut free_to_ring, 0.5),
        percentile(&mut free_to_ring, 0.99),
    );
    println!(
        "queue_e2e latency: park -> agent rung (agent free) p50 {p2r_50:?} p99 {p2r_99:?} ({} calls); agent free -> next offer (callers waiting) p50 {f2r_50:?} p99 {f2r_99:?} ({} offers)",
        l.park_to_ring.len(),
        free_to_ring.len()
    );
    l.park_to_ring.clear();
    drop(l);

    // The writer stalled: another connection holds the write lock for 10 s while a settings
    // change waits for it (and fails once SQLite's 5 s busy timeout ran out, as it should:
    // it is acknowledged only once committed), and agent states wait to be stored.
    let (placed_in, saved) = runtime.block_on(async {
        use sqlx::{Connection as _, Executor as _};
        let before = answered(&board).await;
        let mut holder = sqlx::AnyConnection::connect(&db_url).await.unwrap();
        holder.execute("BEGIN IMMEDIATE").await.unwrap();
        let held = Instant::now();
        let mut sales = QueueConfig::named("sales");
        sales.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
        let mut saving = Box::pin(board.save_queue(sales));
        // Polled once, the save is in the switchboard's inbox before any caller's event.
        let _ = std::future::poll_fn(|cx| Poll::Ready(saving.as_mut().poll(cx))).await;
        thousand_callers(&sim, &board, "+1777", before).await;
        let placed_in = held.elapsed();
        tokio::time::sleep_until((held + Duration::from_secs(10)).into()).await;
        holder.execute("ROLLBACK").await.unwrap();
        let saved = saving.await;
        (placed_in, saved)
    });
    let mut l = latencies.lock().unwrap();
    let (s50, s99) = (
        percentile(&mut l.park_to_ring, 0.5),
        percentile(&mut l.park_to_ring, 0.99),
    );
    println!(
        "queue_e2e latency: park -> agent rung (agent free), writer stalled 10 s p50 {s50:?} p99 {s99:?} ({} calls, all answered {placed_in:.1?} into the stall; the pending save: {}); normal p50 {p2r_50:?} p99 {p2r_99:?}",
        l.park_to_ring.len(),
        match saved {
            Ok(()) => "stored".to_owned(),
            Err(e) => format!("refused ({e})"),
        }
    );
}

/// The name of the switchboard runtime's threads.
const BOARD_THREADS: &str = "sd-board";

/// CPU time so far of switchdesk's threads in this process: the switchboard runtime's and
/// SQLite's workers (`sqlx-sqlite-worker-N`), from each thread's `/proc` schedstat (ns on CPU).
fn switchdesk_cpu() -> Duration {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !(comm.starts_with(BOARD_THREADS) || comm.starts_with("sqlx-sqlite")) {
            continue;
        }
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += schedstat
            .split(' ')
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Duration::from_nanos(total)
}

/// Callers answered in `support` so far.
async fn answered(board: &Board) -> u64 {
    let queues = board.queues().await.unwrap();
    queues
        .iter()
        .find(|q| q.name == "support")
        .map_or(0, |q| q.counters.answered)
}

/// 1,000 callers, 200 a second, each talking 20 ms; returns once all were answered (`before`
/// were before them) and gone.
async fn thousand_callers(sim: &Simulator, board: &Board, prefix: &str, before: u64) {
    for n in 0..1000 {
        let spec = CallSpec {
            from_number: format!("{prefix}{n:07}"),
            destination: "7000".into(),
            talk: Some(Duration::from_millis(20)),
            ..CallSpec::default()
        };
        sim.place_call(spec).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while answered(board).await - before < 1000 || !sim.channels().await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
