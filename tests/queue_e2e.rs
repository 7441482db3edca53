//! The queues driving the simulated FreeSWITCH over real ESL: callers park, are answered,
//! hear their position, agents are originated and bridged; a restart of the service re-adopts
//! every waiting caller in order.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchdesk::acd::{
    AcdError, AgentConfig, AgentStatus, Departure, Membership, QueueConfig, Strategy, Update,
};
use switchdesk::blocklist::{Blocklist, Direction, Entry, Match, Treatment};
use switchdesk::config::EslConfig;
use switchdesk::directory::model::{Contact, Number, NumberKind, Organization};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::esl::Event;
use switchdesk::esl::{Connection, ConnectionEvent};
use switchdesk::sim::{AgentBehaviour, CallSpec, SimConfig, Simulator};
use switchdesk::store::Store;
use switchdesk::switch::{Board, BoardError, BoardOptions, EavesdropMode, EVENTS};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

async fn simulator(seed: u64) -> Simulator {
    simulator_with(SimConfig {
        seed,
        heartbeat: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await
}

async fn simulator_with(config: SimConfig) -> Simulator {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(listener, config).await.unwrap()
}

/// A switch whose hung-up legs linger in CS_REPORTING for `linger`, as a real one does while
/// mod_xml_cdr posts and retries: CHANNEL_HANGUP at once, HANGUP_COMPLETE only after.
async fn lingering_simulator(seed: u64, linger: Duration) -> Simulator {
    simulator_with(SimConfig {
        seed,
        heartbeat: Duration::from_secs(1),
        reporting_linger: linger,
        ..SimConfig::default()
    })
    .await
}

fn queue() -> QueueConfig {
    let mut q = QueueConfig::named("support");
    q.strategy = Strategy::LongestIdle;
    q.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    q.wrap_up_secs = 0;
    q.ring_timeout_secs = 5;
    q.no_answer_delay_secs = 1;
    q.busy_delay_secs = 1;
    q.reject_delay_secs = 1;
    q.max_missed_offers = 0;
    q.announcements.min_gap_secs = 1;
    q.announcements.periodic_secs = 3;
    q
}

fn agents(n: u32) -> Vec<AgentConfig> {
    (1..=n)
        .map(|i| AgentConfig {
            name: format!("agent{i}"),
            endpoint: format!("user/{}@default", 1000 + i).parse().unwrap(),
            queues: vec![Membership {
                queue: "support".into(),
                tier: 1,
                position: i,
            }],
        })
        .collect()
}

/// An ESL connection to the simulator subscribed to what the switchboard needs.
fn node(sim: &Simulator) -> (Connection, broadcast::Receiver<ConnectionEvent>) {
    let config = EslConfig {
        host: "127.0.0.1".into(),
        port: sim.addr().port(),
        ..EslConfig::default()
    };
    let mut options = config.connection_options("fs1");
    options.events = EVENTS.iter().map(|e| (*e).to_owned()).collect();
    Connection::spawn_with_subscriber(options)
}

fn board_options(seed: u64) -> BoardOptions {
    BoardOptions::new(seed)
}

/// Agent 1's phone (`user/1001@default`) answers after `ring_ms` and talks until the caller
/// hangs up.
async fn answering_agent(sim: &Simulator, ring_ms: u64) {
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(ring_ms),
            talk: None,
        },
    )
    .await
    .unwrap();
}

async fn board(sim: &Simulator, store: Store, agent_count: u32, seed: u64) -> (Board, Connection) {
    board_with(sim, store, queue(), agent_count, board_options(seed)).await
}

async fn board_with(
    sim: &Simulator,
    store: Store,
    queue: QueueConfig,
    agent_count: u32,
    options: BoardOptions,
) -> (Board, Connection) {
    let (connection, events) = node(sim);
    let nodes = vec![(connection.clone(), events)];
    let agents = agents(agent_count);
    let board = Board::start(nodes, store, &[queue], &agents, options)
        .await
        .unwrap();
    (board, connection)
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn drain(updates: &mut broadcast::Receiver<Update>, into: &mut Vec<Update>) {
    while let Ok(update) = updates.try_recv() {
        into.push(update);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_is_answered_announced_and_bridged_to_an_agent() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(1).await;
    answering_agent(&sim, 200).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 1).await;
    let mut updates = board.subscribe();
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();

    let call = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            from_name: "Caller 1".into(),
            destination: "7000".into(),
            talk: Some(Duration::from_secs(1)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    wait_until("the caller is bridged", || async {
        sim.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == call && c.bridged_to.is_some())
    })
    .await;
    let channels = sim.channels().await.unwrap();
    let caller = channels.iter().find(|c| c.uuid == call).unwrap();
    assert!(caller.answered);
    assert_eq!(caller.variable("switchdesk_priority"), Some("0"));
    assert!(caller
        .variable("switchdesk_enqueued_at")
        .is_some_and(|v| v.parse::<u64>().is_ok()));
    let agent_leg = channels
        .iter()
        .find(|c| Some(c.uuid.as_str()) == caller.bridged_to.as_deref())
        .unwrap();
    assert_eq!(agent_leg.variable("switchdesk_agent"), Some("agent1"));
    assert_eq!(
        agent_leg.variable("switchdesk_caller_uuid"),
        Some(call.as_str())
    );

    // The commands the switch received, in the contract's order: the caller's own session
    // rings the agent (`bridge`) and bridges on the answer; no originate, no `uuid_bridge`.
    let sent = sim.commands_received();
    let index = |prefix: &str| {
        sent.iter()
            .position(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} not sent: {sent:?}"))
    };
    assert!(index(&format!("api uuid_answer {call}")) < index(&format!("sendmsg {call}")));
    assert!(!sent
        .iter()
        .any(|c| c.starts_with("bgapi originate") || c.starts_with("api uuid_bridge")));
    let bridges = sim.bridges_run().await.unwrap();
    assert_eq!(bridges.len(), 1, "{bridges:?}");
    let (ringing, dial) = &bridges[0];
    assert_eq!(ringing, &call);
    assert!(
        dial.starts_with(&format!(
            "{{originate_timeout=5,ignore_early_media=true}}[origination_uuid={},",
            agent_leg.uuid
        )),
        "{dial}"
    );
    assert!(
        dial.ends_with(&format!("switchdesk_caller_uuid={call}]user/1001@default")),
        "{dial}"
    );
    // Few commands per call: every variable of the arrival (identification, place, priority,
    // no playback terminator) and of the caller's bridge (a failed offer leaves the caller
    // parked, the end of the talk hangs it up) in one `uuid_setvar_multi`; the hold music as
    // ringback (a tone_stream holds `;`, so in a `uuid_setvar` of its own); no `uuid_break`
    // and no prompt, as the free agent is rung at once: the bridge is the only `sendmsg`.
    let for_call: Vec<&String> = sent.iter().filter(|c| c.contains(&call)).collect();
    let multi: Vec<&&String> = for_call
        .iter()
        .filter(|c| c.starts_with(&format!("api uuid_setvar_multi {call} ")))
        .collect();
    assert_eq!(multi.len(), 1, "{for_call:?}");
    for var in [
        "switchdesk_identified=unknown",
        "playback_terminators=none",
        "switchdesk_enqueued_at=",
        "switchdesk_priority=0",
        "continue_on_fail=true",
        "hangup_after_bridge=true",
    ] {
        assert!(multi[0].contains(var), "{var} not in {}", multi[0]);
    }
    let setvars: Vec<&&String> = for_call
        .iter()
        .filter(|c| c.starts_with(&format!("api uuid_setvar {call} ")))
        .collect();
    assert_eq!(
        setvars,
        [&&format!(
            "api uuid_setvar {call} transfer_ringback tone_stream://%(1000,4000,440);loops=-1"
        )]
    );
    assert!(!for_call
        .iter()
        .any(|c| c.starts_with(&format!("api uuid_break {call}"))));
    let sendmsgs = for_call
        .iter()
        .filter(|c| **c == &format!("sendmsg {call}"))
        .count();
    assert_eq!(sendmsgs, 1, "{for_call:?}");
    assert_eq!(caller.variable("switchdesk_identified"), Some("unknown"));

    wait_until("the call ends and the agent is idle", || async {
        board
            .agent("agent1")
            .await
            .unwrap()
            .is_some_and(|a| a.activity == "idle" && a.calls == 1)
    })
    .await;
    let mut seen = Vec::new();
    drain(&mut updates, &mut seen);
    assert!(seen.iter().any(|u| matches!(u, Update::CallerLeft { departure: Departure::Answered { agent }, .. } if agent == "agent1")));
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!(
        (
            queue.counters.offered,
            queue.counters.answered,
            queue.counters.abandoned
        ),
        (1, 1, 0)
    );
    // The agent's status and totals reach the database (written behind the switchboard).
    wait_until("the agent's totals are stored", || async {
        db.store.agents().await.unwrap()[0].calls == 1
    })
    .await;
    let stored = db.store.agents().await.unwrap();
    assert_eq!(stored[0].status, AgentStatus::Available);
}

/// Ring-all (two agents rung for one caller) originates the legs and bridges with
/// `uuid_bridge`. The agent leg's CHANNEL_PARK reaches the switchboard before its originate's
/// BACKGROUND_JOB (two FreeSWITCH threads fire them; here the job is held back past the end of
/// the test): the park alone is the answer, the caller is bridged once, and the agent's leg is
/// kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_leg_that_parks_before_its_job_ends_is_bridged_once() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator_with(SimConfig {
        seed: 23,
        heartbeat: Duration::from_secs(1),
        originate_job_delay: Duration::from_secs(120),
        ..SimConfig::default()
    })
    .await;
    answering_agent(&sim, 100).await;
    let mut ring_all = queue();
    ring_all.strategy = Strategy::RingAll;
    let (board, _esl) = board_with(&sim, db.store.clone(), ring_all, 2, board_options(23)).await;
    for agent in ["agent1", "agent2"] {
        board
            .set_agent_status(agent, AgentStatus::Available)
            .await
            .unwrap();
    }
    let call = call_in(&sim, 1, Some(Duration::from_millis(300))).await;
    let leg = bridged_leg(&sim, &call).await;
    wait_until("the call ends and the agent is idle", || async {
        board
            .agent("agent1")
            .await
            .unwrap()
            .is_some_and(|a| a.activity == "idle" && a.calls == 1)
    })
    .await;
    let sent = sim.commands_received();
    assert_eq!(
        sent.iter()
            .filter(|c| c.starts_with(&format!("api uuid_bridge {call} ")))
            .collect::<Vec<_>>(),
        [&format!("api uuid_bridge {call} {leg}")]
    );
    assert!(!sent
        .iter()
        .any(|c| c.starts_with(&format!("api uuid_kill {leg}"))));
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!((queue.counters.answered, queue.counters.abandoned), (1, 0));
    board.shutdown();
}

/// A caller hangs up while nobody is free; their leg lingers (CS_REPORTING, mod_xml_cdr
/// retrying) long after. When an agent comes on duty, nobody is rung for the gone caller: a
/// real switch rang agents 46 times in 50 s for one such caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hung_up_is_never_offered_while_the_leg_lingers() {
    let db = common::TestDb::sqlite().await;
    let sim = lingering_simulator(21, Duration::from_secs(60)).await;
    answering_agent(&sim, 100).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 21).await;
    let call = call_in(&sim, 1, None).await;
    wait_waiting(&board, "support", 1).await;
    assert!(sim.hangup(&call, "NORMAL_CLEARING").await.unwrap());
    wait_until("the caller left the queue", || async {
        board.queues().await.unwrap()[0].waiting.is_empty()
    })
    .await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    // The agent is free and stays free; the leg is still there, lingering.
    let agent = board.agent("agent1").await.unwrap().unwrap();
    assert_eq!(agent.activity, "idle");
    assert!(sim.channels().await.unwrap().iter().any(|c| c.uuid == call));
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!((queue.counters.abandoned, queue.counters.answered), (1, 0));
    // A second caller gets the agent straight away: the switchboard was not busy with a ghost.
    let next = call_in(&sim, 2, Some(Duration::from_secs(1))).await;
    let leg = bridged_leg(&sim, &next).await;
    let bridges = sim.bridges_run().await.unwrap();
    assert_eq!(bridges.len(), 1, "{bridges:?}");
    assert_eq!(bridges[0].0, next);
    assert!(bridges[0]
        .1
        .contains(&format!("switchdesk_caller_uuid={next}]")));
    assert!(!leg.is_empty());
    board.shutdown();
}

/// The caller hangs up just as the agent answers: whichever comes first (the hangup seen, or
/// `uuid_bridge` refused with `-ERR Invalid uuid` and `uuid_exists` false), the caller is
/// gone for good: the agent's leg is hung up, the agent is free, and nobody is rung again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_gone_at_the_bridge_is_not_offered_again() {
    let db = common::TestDb::sqlite().await;
    let sim = lingering_simulator(22, Duration::from_secs(60)).await;
    answering_agent(&sim, 400).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 22).await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let call = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            from_name: "Caller 1".into(),
            destination: "7000".into(),
            patience: Some(Duration::from_millis(420)),
            // On a loaded machine the bridge can win the race: then a short call ends it.
            talk: Some(Duration::from_millis(200)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    // However late the switchboard gets to ring (a loaded machine), the caller is gone within
    // half a second: then the queue is empty, the agent idle, the caller's leg down.
    wait_until("the caller left and the agent is idle again", || async {
        board.queues().await.unwrap()[0].waiting.is_empty()
            && board
                .agent("agent1")
                .await
                .unwrap()
                .is_some_and(|a| a.activity == "idle")
            && sim
                .channels()
                .await
                .unwrap()
                .iter()
                .all(|c| c.uuid != call || c.call_state == "HANGUP")
    })
    .await;
    // Give a wrongly requeued caller the time to be offered again (ring timeout is 5 s, the
    // retry delay 1 s): the switch must see no second originate for this caller.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rung = sim
        .bridges_run()
        .await
        .unwrap()
        .iter()
        .filter(|(caller, _)| *caller == call)
        .count();
    assert!(rung <= 1, "rung {rung} times for one caller");
    assert!(board.queues().await.unwrap()[0].waiting.is_empty());
    board.shutdown();
}

/// A queue stored before switchdesk refused values FreeSWITCH would interpret (here, hold
/// music that would run a command) is left out at start, named in the log; every other queue
/// starts and answers its callers, and an agent who is also a member of the queue left out
/// is not dropped: it serves the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_queue_that_no_longer_reads_leaves_the_others_running() {
    let db = common::TestDb::sqlite().await;
    let mut sales = queue();
    sales.name = "sales".into();
    db.store.save_queue(&sales).await.unwrap();
    let mut agent1 = agents(1).remove(0);
    agent1.queues.push(Membership {
        queue: "sales".into(),
        tier: 1,
        position: 1,
    });
    db.store.save_agent(&agent1).await.unwrap();
    common::TestDbRef {
        store: db.store.clone(),
        url: db.url.clone(),
    }
    .execute(
        "UPDATE acd_queues SET config = REPLACE(config, 'tone_stream:', '${system(id)}') \
         WHERE name = 'sales'",
    )
    .await;
    let sim = simulator(17).await;
    answering_agent(&sim, 50).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 17).await;
    let names: Vec<String> = board
        .queues()
        .await
        .unwrap()
        .iter()
        .map(|q| q.name.clone())
        .collect();
    assert_eq!(names, ["support"]);
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let call = call_in(&sim, 1, Some(Duration::from_millis(200))).await;
    assert!(!bridged_leg(&sim, &call).await.is_empty());
    assert!(!sim.commands_received().iter().any(|c| c.contains("system")));
    board.shutdown();
}

/// A log line in memory, for a test that must see what the service told the operator.
#[derive(Clone, Default)]
struct Logged(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The configuration file creates a queue once; afterwards the database rules. A file that
/// says something else is not applied, and the service says so at start, naming the queue and
/// how to change it, instead of ignoring the file in silence.
#[tokio::test]
async fn a_queue_the_file_and_the_database_disagree_on_is_named_at_start() {
    let db = common::TestDb::sqlite().await;
    let mut stored = queue();
    stored.max_wait_secs = 300;
    db.store.save_queue(&stored).await.unwrap();
    let sim = simulator(18).await;
    let mut in_file = queue();
    in_file.max_wait_secs = 900;
    let logged = Logged::default();
    let writer = logged.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let (board, _esl) = board_with(&sim, db.store.clone(), in_file, 1, board_options(18)).await;
    drop(guard);
    let log = String::from_utf8(logged.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("WARN")
            && log.contains("queue \"support\" in the configuration file differs")
            && log.contains("PUT /api/queues/support"),
        "{log}"
    );
    // The agents agree with the database: nothing said about them.
    assert!(!log.contains("agent \"agent1\""), "{log}");
    assert_eq!(db.store.queues().await.unwrap()[0].max_wait_secs, 300);
    board.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_readopts_every_waiting_caller_in_order() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(2).await;
    answering_agent(&sim, 100).await;
    let (first, esl) = board(&sim, db.store.clone(), 1, 11).await;
    // One call is already connected to agent1 when the service stops.
    first
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let talking = sim
        .place_call(CallSpec {
            from_number: "+15550100".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    wait_until("the first caller is bridged", || async {
        sim.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == talking && c.bridged_to.is_some())
    })
    .await;
    // Five more wait, one of them with priority (a VIP set by the dialplan would look the same).
    let mut waiting = Vec::new();
    for n in 1..=5 {
        let call = sim
            .place_call(CallSpec {
                from_number: format!("+1555000{n}"),
                destination: "7000".into(),
                ..CallSpec::default()
            })
            .await
            .unwrap();
        waiting.push(call);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    wait_until("five callers wait", || async {
        first.queues().await.unwrap()[0].waiting.len() == 5
    })
    .await;
    let before: Vec<String> = first.queues().await.unwrap()[0]
        .waiting
        .iter()
        .map(|w| w.call.clone())
        .collect();
    assert_eq!(before, waiting);

    // The service dies. A sixth caller arrives while it is down.
    first.shutdown();
    esl.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = sim
        .place_call(CallSpec {
            from_number: "+15550006".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();

    // A new process: fresh engine, same database, same switch.
    let (second, _esl) = board(&sim, db.store.clone(), 1, 22).await;
    wait_until("every waiting caller is re-adopted", || async {
        second.queues().await.unwrap()[0].waiting.len() == 6
    })
    .await;
    let after = second.queues().await.unwrap().remove(0);
    let order: Vec<String> = after.waiting.iter().map(|w| w.call.clone()).collect();
    let mut expected = waiting.clone();
    expected.push(late.clone());
    assert_eq!(order, expected, "re-adopted in the original order");
    // Nothing stored the first run's day here (no statistics recorder runs in this test): the
    // re-adopted callers were counted by the first run, the one who came meanwhile is counted
    // by the second, once.
    assert_eq!(after.counters.offered, 1);
    // Their waiting time counts from the first arrival, not from the restart.
    assert!(after.waiting[0].enqueued_at < after.waiting[4].enqueued_at);
    // The connected call is tracked until it ends: agent1 is in it, and is freed by its hangup.
    let agent = second.agent("agent1").await.unwrap().unwrap();
    assert_eq!(
        (agent.activity.as_str(), agent.call.as_deref()),
        ("in_call", Some(talking.as_str()))
    );
    assert!(sim.hangup(&talking, "NORMAL_CLEARING").await.unwrap());
    // Freed, agent1 takes the first re-adopted caller.
    wait_until("the first waiting caller is bridged", || async {
        sim.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == waiting[0] && c.bridged_to.is_some())
    })
    .await;
    let queue = second.queues().await.unwrap().remove(0);
    assert_eq!(
        queue.waiting.iter().map(|w| w.position).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
}

/// 50 callers, 5 agents who answer, ring out or are busy at random, callers with varied
/// patience, some asking for a callback: every caller ends somewhere, none is stuck, and
/// every position announced was the caller's true place at that moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_callers_five_agents_random_behaviour_nobody_lost() {
    use switchdesk::acd::Overflow;
    use switchdesk::sim::Route;

    let db = common::TestDb::sqlite().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let voicemail = Route::apps(
        "voicemail",
        vec![
            ("answer".into(), String::new()),
            ("sleep".into(), "300".into()),
            ("hangup".into(), "NORMAL_CLEARING".into()),
        ],
    );
    let sim_config = SimConfig {
        seed: 50,
        heartbeat: Duration::from_secs(1),
        dialplan: vec![Route::queue("7000", "support"), voicemail],
        ..SimConfig::default()
    };
    let sim = Simulator::start(listener, sim_config).await.unwrap();
    let ms = Duration::from_millis;
    for n in 1..=5 {
        let mix = AgentBehaviour::Random(vec![
            (
                3,
                AgentBehaviour::Answer {
                    ring: ms(100),
                    talk: Some(ms(800)),
                },
            ),
            (
                3,
                AgentBehaviour::Answer {
                    ring: ms(300),
                    talk: Some(ms(1500)),
                },
            ),
            (1, AgentBehaviour::NoAnswer),
            (1, AgentBehaviour::Busy),
        ]);
        sim.add_endpoint(&format!("user/{}@default", 1000 + n), mix)
            .await
            .unwrap();
    }
    let mut q = queue();
    q.ring_timeout_secs = 1;
    q.max_wait_secs = 8;
    q.overflow = Overflow::Extension("voicemail".parse().unwrap());
    q.callbacks.key = Some('1');
    q.callbacks.dial = "user/{number}@default".parse().unwrap();
    q.callbacks.ring_secs = 2;
    q.callbacks.retry_secs = 1;
    q.announcements.min_gap_secs = 1;
    q.announcements.periodic_secs = 2;
    let (connection, events) = node(&sim);
    let options = board_options(5);
    let board = Board::start(
        vec![(connection, events)],
        db.store.clone(),
        &[q],
        &agents(5),
        options,
    )
    .await
    .unwrap();
    let mut updates = board.subscribe();
    for n in 1..=5 {
        board
            .set_agent_status(&format!("agent{n}"), AgentStatus::Available)
            .await
            .unwrap();
    }

    let mut placed = Vec::new();
    for n in 0..50u64 {
        let number = format!("15551000{n:02}");
        let wants_callback = n % 10 == 3;
        if wants_callback {
            sim.add_endpoint(
                &format!("user/{number}@default"),
                AgentBehaviour::Answer {
                    ring: ms(200),
                    talk: Some(ms(500)),
                },
            )
            .await
            .unwrap();
        }
        let spec = CallSpec {
            from_number: number,
            from_name: format!("Caller {n}"),
            destination: "7000".into(),
            patience: Some(ms(2_000 + (n * 7919) % 9_000)),
            talk: Some(ms(400 + (n * 131) % 1_200)),
            dtmf: if wants_callback {
                vec![(ms(300), '1')]
            } else {
                Vec::new()
            },
        };
        placed.push(sim.place_call(spec).await.unwrap());
        tokio::time::sleep(ms(120)).await;
    }

    let mut seen = Vec::new();
    wait_until(
        "every caller has left and nothing is left in FreeSWITCH or the queue",
        || {
            drain(&mut updates, &mut seen);
            let board = board.clone();
            let sim = sim.clone();
            async move {
                sim.channels().await.unwrap().is_empty()
                    && board.queues().await.unwrap()[0].waiting.is_empty()
            }
        },
    )
    .await;
    tokio::time::sleep(ms(200)).await;
    drain(&mut updates, &mut seen);

    // Replay the queue from the updates and check every announcement against it.
    let mut order: Vec<String> = Vec::new();
    let mut outcome: HashMap<String, String> = HashMap::new();
    let mut announcements = 0;
    for update in &seen {
        match update {
            Update::CallerJoined { id, position, .. } => {
                order.retain(|c| c != id);
                order.insert((*position as usize - 1).min(order.len()), id.clone());
            }
            Update::CallerLeft { id, departure, .. } => {
                if *departure != Departure::CallbackRequested {
                    order.retain(|c| c != id);
                }
                outcome.insert(id.clone(), format!("{departure:?}"));
            }
            Update::CallbackDone { id, reached, .. } => {
                outcome.insert(id.clone(), format!("callback reached={reached}"));
            }
            Update::Announced { call, position, .. } => {
                announcements += 1;
                let truth = order.iter().position(|c| c == call).map(|i| i as u32 + 1);
                assert_eq!(
                    truth,
                    Some(*position),
                    "announced {position} to {call}, true place {truth:?}"
                );
            }
            _ => {}
        }
    }
    assert!(announcements >= 50, "only {announcements} announcements");
    for call in &placed {
        let end = outcome
            .get(call)
            .unwrap_or_else(|| panic!("caller {call} has no outcome"));
        assert!(
            !end.contains("CallbackRequested"),
            "caller {call} asked for a callback that never ended"
        );
    }
    let counted = |needle: &str| outcome.values().filter(|o| o.contains(needle)).count();
    let (answered, abandoned, overflowed, callbacks) = (
        counted("Answered"),
        counted("Abandoned"),
        counted("Overflowed"),
        counted("callback"),
    );
    assert_eq!(
        answered + abandoned + overflowed + callbacks,
        50,
        "{outcome:?}"
    );
    assert!(answered > 10 && callbacks >= 1, "answered {answered}, abandoned {abandoned}, overflowed {overflowed}, callbacks {callbacks}");
    let counters = board.queues().await.unwrap().remove(0).counters;
    assert_eq!(counters.offered, 50);
    assert_eq!(counters.abandoned as usize, abandoned);
}

/// Two FreeSWITCH nodes feed one queue: each caller is answered, rung and bridged on the node
/// it arrived on, and the queue orders callers of both nodes together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_feed_one_queue_and_each_call_stays_on_its_node() {
    let db = common::TestDb::sqlite().await;
    let (east, west) = (simulator(31).await, simulator(32).await);
    let mut nodes = Vec::new();
    for sim in [&east, &west] {
        sim.add_endpoint(
            "user/1001@default",
            AgentBehaviour::Answer {
                ring: Duration::from_millis(50),
                talk: None,
            },
        )
        .await
        .unwrap();
        nodes.push(node(sim));
    }
    let options = board_options(8);
    let board = Board::start(nodes, db.store.clone(), &[queue()], &agents(1), options)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let first = east
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = west
        .place_call(CallSpec {
            from_number: "+15550002".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    wait_until("both callers wait", || async {
        board.queues().await.unwrap()[0].waiting.len() == 2
    })
    .await;
    let order: Vec<String> = board.queues().await.unwrap()[0]
        .waiting
        .iter()
        .map(|w| w.call.clone())
        .collect();
    assert_eq!(order, [first.clone(), second.clone()]);
    // Commands leave behind the engine: wait for the answer to reach the west node.
    wait_until("the second caller is answered on the west node", || async {
        west.commands_received()
            .contains(&format!("api uuid_answer {second}"))
    })
    .await;
    assert!(!east.commands_received().iter().any(|c| c.contains(&second)));

    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    wait_until("the east caller is bridged on east", || async {
        east.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == first && c.bridged_to.is_some())
    })
    .await;
    assert!(east.hangup(&first, "NORMAL_CLEARING").await.unwrap());
    wait_until("the west caller is bridged on west", || async {
        west.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == second && c.bridged_to.is_some())
    })
    .await;
    assert_eq!(west.bridges_run().await.unwrap().len(), 1);
    assert_eq!(east.bridges_run().await.unwrap().len(), 1);
}

fn block(id: i64, matches: Match, direction: Direction, treatment: Treatment) -> Entry {
    Entry {
        id,
        matches,
        direction,
        treatment,
        expires_at: None,
        reason: "test".into(),
        added_by: "sam".into(),
        hits: 0,
        last_hit_at: None,
        created_at: 0,
    }
}

/// Every event of the named kinds the simulator sends from now on, on a connection of its own.
fn watch(sim: &Simulator, events: &[&str]) -> Arc<std::sync::Mutex<Vec<Arc<Event>>>> {
    let config = EslConfig {
        host: "127.0.0.1".into(),
        port: sim.addr().port(),
        ..EslConfig::default()
    };
    let mut options = config.connection_options("watch");
    options.events = events.iter().map(|e| (*e).to_owned()).collect();
    let (connection, mut received) = Connection::spawn_with_subscriber(options);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    tokio::spawn(async move {
        let _keep = connection;
        while let Ok(event) = received.recv().await {
            if let ConnectionEvent::Events(batch) = event {
                sink.lock()
                    .unwrap()
                    .extend(batch.iter().cloned().map(Arc::new));
            }
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_callers_get_their_treatment_and_are_never_answered() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(11).await;
    let events = watch(&sim, &["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let blocklist = Arc::new(Blocklist::new(vec![
        block(
            1,
            Match::Number("+12125550101".into()),
            Direction::Inbound,
            Treatment::Busy,
        ),
        block(
            2,
            Match::Prefix("+882".into()),
            Direction::Both,
            Treatment::Reject {
                cause: "CALL_REJECTED".parse().unwrap(),
            },
        ),
        block(
            3,
            Match::Name("*casino*".into()),
            Direction::Inbound,
            Treatment::Prompt {
                file: "ivr/ivr-call_rejected.wav".parse().unwrap(),
            },
        ),
        block(
            4,
            Match::Number("+12125550104".into()),
            Direction::Inbound,
            Treatment::Transfer {
                extension: "voicemail".parse().unwrap(),
            },
        ),
        // Outbound only: inbound calls from it are welcome.
        block(
            5,
            Match::Number("+12125550105".into()),
            Direction::Outbound,
            Treatment::Busy,
        ),
    ]));
    db.store
        .save_block(&block(
            0,
            Match::Number("+12125550101".into()),
            Direction::Inbound,
            Treatment::Busy,
        ))
        .await
        .unwrap();
    let options = BoardOptions {
        blocklist,
        ..board_options(11)
    };
    let (board, _esl) = board_with(&sim, db.store.clone(), queue(), 1, options).await;

    let mut calls = Vec::new();
    for (number, name) in [
        ("(212) 555-0101", "Caller"),
        ("+88216000001", "Satellite"),
        ("+12125550103", "Royal Casino"),
        ("+12125550104", "Caller"),
        ("+12125550105", "Welcome"),
    ] {
        let call = sim
            .place_call(CallSpec {
                from_number: number.into(),
                from_name: name.into(),
                destination: "7000".into(),
                patience: Some(Duration::from_secs(20)),
                ..CallSpec::default()
            })
            .await
            .unwrap();
        calls.push(call);
    }
    let (welcome, blocked) = calls.split_last().unwrap();
    wait_until("the welcome caller waits in the queue", || async {
        board.queues().await.unwrap()[0]
            .waiting
            .iter()
            .any(|w| w.call == *welcome)
    })
    .await;
    wait_until("the blocked callers' hangups are seen", || {
        let received = events.lock().unwrap().clone();
        let ended = blocked[..3].iter().all(|call| {
            received.iter().any(|e| {
                e.name().as_deref() == Some("CHANNEL_HANGUP_COMPLETE")
                    && e.get("Unique-ID").as_deref() == Some(call.as_str())
            })
        });
        async move { ended }
    })
    .await;
    // Commands leave behind the engine: wait until the last ones asked for have left.
    wait_until(
        "the transfer and the welcome caller's answer are sent",
        || async {
            let sent = sim.commands_received();
            sent.contains(&format!("api uuid_answer {welcome}"))
                && sent.contains(&format!(
                    "api uuid_transfer {} voicemail XML default",
                    blocked[3]
                ))
        },
    )
    .await;

    let sent = sim.commands_received();
    let received = events.lock().unwrap().clone();
    let cause_of = |call: &str| {
        received
            .iter()
            .find(|e| {
                e.name().as_deref() == Some("CHANNEL_HANGUP_COMPLETE")
                    && e.get("Unique-ID").as_deref() == Some(call)
            })
            .and_then(|e| e.get("Hangup-Cause").map(|c| c.into_owned()))
    };
    for call in blocked {
        assert!(
            !sent
                .iter()
                .any(|c| c.contains(&format!("uuid_answer {call}"))),
            "blocked caller {call} was answered: {sent:?}"
        );
        assert!(
            !received.iter().any(|e| {
                e.name().as_deref() == Some("CHANNEL_ANSWER")
                    && e.get("Unique-ID").as_deref() == Some(call.as_str())
            }),
            "blocked caller {call} saw CHANNEL_ANSWER"
        );
    }
    assert_eq!(cause_of(&blocked[0]).as_deref(), Some("USER_BUSY"));
    assert_eq!(cause_of(&blocked[1]).as_deref(), Some("CALL_REJECTED"));
    assert_eq!(cause_of(&blocked[2]).as_deref(), Some("CALL_REJECTED"));
    assert!(sent
        .iter()
        .any(|c| c.contains(&format!("sendmsg {}", blocked[2]))));
    assert!(
        sent.iter()
            .any(|c| c == &format!("api uuid_transfer {} voicemail XML default", blocked[3])),
        "{sent:?}"
    );
    // None of them entered the queue; the welcome caller did, and was answered.
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!(queue.counters.offered, 1);
    assert!(sent
        .iter()
        .any(|c| c == &format!("api uuid_answer {welcome}")));

    // The stored entry's hit was counted and the attempt audited.
    wait_until("every refusal is audited", || async {
        db.store.blocked_attempts(10).await.unwrap().len() == 4
    })
    .await;
    let audit = db.store.blocked_attempts(10).await.unwrap();
    let busy = audit.iter().find(|a| a.call_uuid == blocked[0]).unwrap();
    assert_eq!(busy.number, "+12125550101");
    assert_eq!(busy.action, "busy");
    assert_eq!(busy.entry_id, Some(1));
    assert_eq!(db.store.blocks().await.unwrap()[0].hits, 1);
    board.shutdown();
}

/// A caller of queue 7000 who presses 1 (the callback key) and hangs up; their call UUID once
/// their channel is gone.
async fn ask_for_a_callback(sim: &Simulator, number: &str, name: &str) -> String {
    let call = sim
        .place_call(CallSpec {
            from_number: number.into(),
            from_name: name.into(),
            destination: "7000".into(),
            dtmf: vec![(Duration::from_millis(300), '1')],
            ..CallSpec::default()
        })
        .await
        .unwrap();
    wait_until("the caller has left for a callback", || async {
        sim.channels().await.unwrap().iter().all(|c| c.uuid != call)
    })
    .await;
    call
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_to_a_banned_destination_is_not_dialled() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(12).await;
    answering_agent(&sim, 50).await;
    let mut q = queue();
    q.callbacks.key = Some('1');
    q.callbacks.dial = "sofia/gateway/pstn/{number}".parse().unwrap();
    let options = BoardOptions {
        blocklist: Arc::new(Blocklist::new(vec![block(
            1,
            Match::Prefix("+7809".into()),
            Direction::Outbound,
            Treatment::Busy,
        )])),
        ..board_options(12)
    };
    let (board, _esl) = board_with(&sim, db.store.clone(), q, 1, options).await;
    let mut updates = board.subscribe();
    ask_for_a_callback(&sim, "+78091234567", "Premium").await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let mut seen = Vec::new();
    wait_until("the callback is given up", || {
        drain(&mut updates, &mut seen);
        let done = seen.iter().any(|u| {
            matches!(
                u,
                Update::CallerLeft {
                    departure: Departure::CallbackFailed,
                    ..
                }
            )
        });
        async move { done }
    })
    .await;
    let sent = sim.commands_received();
    assert!(
        !sent.iter().any(|c| c.contains("sofia/gateway/pstn")),
        "a banned callback was dialled: {sent:?}"
    );
    assert!(board.queues().await.unwrap()[0].waiting.is_empty());
    wait_until("the refusal is audited", || async {
        !db.store.blocked_attempts(10).await.unwrap().is_empty()
    })
    .await;
    let audit = db.store.blocked_attempts(10).await.unwrap();
    assert_eq!(audit[0].direction, "outbound");
    assert_eq!(audit[0].number, "+78091234567");
    assert_eq!(audit[0].action, "not_dialled");
    board.shutdown();
}

/// A known caller asks for a callback and hangs up: the callback waiting in the queue still
/// says who they are, and so does it when a restarted service restores it from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_keeps_the_callers_identification_across_a_restart() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(15).await;
    let book = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    book.put_contact(&Contact {
        id: 3,
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        numbers: vec![Number {
            number: "+12125550111".into(),
            kind: NumberKind::Work,
        }],
        ..Default::default()
    });
    let mut q = queue();
    q.callbacks.key = Some('1');
    q.callbacks.dial = "sofia/gateway/pstn/{number}".parse().unwrap();
    let options = || BoardOptions {
        identity: book.clone(),
        ..board_options(15)
    };
    let (board, _esl) = board_with(&sim, db.store.clone(), q.clone(), 1, options()).await;
    let call = ask_for_a_callback(&sim, "+12125550111", "WIRELESS CALLER").await;
    let contact_of = |identities: &HashMap<String, switchdesk::switch::Identity>| {
        identities
            .get(&call)
            .and_then(|i| i.contact.as_ref().map(|c| c.id))
    };
    let waiting = &board.queues().await.unwrap()[0].waiting;
    assert!(waiting.iter().any(|w| w.call == call), "{waiting:?}");
    assert_eq!(contact_of(&board.identities().await.unwrap()), Some(3));
    wait_until("the callback is stored", || async {
        !db.store.pending_callbacks().await.unwrap().is_empty()
    })
    .await;
    board.shutdown();

    let (restarted, _esl) = board_with(&sim, db.store.clone(), q, 1, options()).await;
    let waiting = &restarted.queues().await.unwrap()[0].waiting;
    assert!(waiting.iter().any(|w| w.call == call), "{waiting:?}");
    assert_eq!(contact_of(&restarted.identities().await.unwrap()), Some(3));
    restarted.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_caller_is_identified_raised_and_shown_on_the_agents_phone() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(13).await;
    answering_agent(&sim, 100).await;
    let book = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    book.put_organization(&Organization {
        id: 7,
        name: "Acme Ltd".into(),
        vip: true,
        ..Default::default()
    });
    book.put_contact(&Contact {
        id: 3,
        organization_id: Some(7),
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        numbers: vec![Number {
            number: "+12125550111".into(),
            kind: NumberKind::Work,
        }],
        ..Default::default()
    });
    let options = BoardOptions {
        identity: book,
        ..board_options(13)
    };
    let (board, _esl) = board_with(&sim, db.store.clone(), queue(), 1, options).await;

    // A stranger first, then the VIP's contact: the VIP is served first.
    let mut calls = Vec::new();
    for (number, name) in [
        ("+12125550999", "Stranger"),
        ("(212) 555-0111", "WIRELESS CALLER"),
    ] {
        calls.push(
            sim.place_call(CallSpec {
                from_number: number.into(),
                from_name: name.into(),
                destination: "7000".into(),
                talk: Some(Duration::from_millis(300)),
                ..CallSpec::default()
            })
            .await
            .unwrap(),
        );
    }
    let (stranger, jane) = (&calls[0], &calls[1]);
    wait_until("both callers wait", || async {
        board.queues().await.unwrap()[0].waiting.len() == 2
    })
    .await;
    let waiting = board.queues().await.unwrap()[0].waiting.clone();
    assert_eq!(waiting[0].call, *jane, "the VIP goes first");
    assert_eq!(waiting[0].name, "Jane Doe - Acme Ltd");
    assert_eq!(waiting[0].priority, 1);
    let identities = board.identities().await.unwrap();
    let identity = &identities[jane];
    assert_eq!(identity.confidence.as_str(), "exact");
    assert_eq!(identity.contact.as_ref().map(|c| c.id), Some(3));
    assert_eq!(
        identity.organization.as_ref().map(|o| o.name.as_str()),
        Some("Acme Ltd")
    );
    assert_eq!(identities[stranger].confidence.as_str(), "unknown");

    // The identification is on the caller leg, for the CDR.
    wait_until("the identification is on the channel", || async {
        sim.channels().await.unwrap().iter().any(|c| {
            c.uuid == *jane
                && c.variable("switchdesk_identified") == Some("exact")
                && c.variable("switchdesk_contact_id") == Some("3")
                && c.variable("switchdesk_organization_id") == Some("7")
                && c.variable("switchdesk_vip") == Some("true")
        })
    })
    .await;

    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let rung = || async {
        sim.bridges_run()
            .await
            .unwrap()
            .into_iter()
            .find(|(caller, _)| caller == jane)
    };
    wait_until("the agent is rung for the VIP", || async {
        rung().await.is_some()
    })
    .await;
    let (_, dial) = rung().await.unwrap();
    assert!(
        dial.contains("origination_caller_id_name='Jane Doe - Acme Ltd'"),
        "{dial}"
    );
    board.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_caller_can_be_found_and_put_out_of_the_queue() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(14).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 14).await;
    let call = sim
        .place_call(CallSpec {
            from_number: "+12125550177".into(),
            from_name: "Pest".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    wait_until("the caller waits", || async {
        board.queues().await.unwrap()[0]
            .waiting
            .iter()
            .any(|w| w.call == call)
    })
    .await;
    let seen = board.caller(&call).await.unwrap().unwrap();
    assert_eq!(
        (seen.number.as_str(), seen.name.as_str()),
        ("+12125550177", "Pest")
    );
    assert!(board.caller("no-such-call").await.unwrap().is_none());

    assert!(board.eject(&call).await.unwrap());
    wait_until("the caller is gone", || async {
        sim.channels().await.unwrap().iter().all(|c| c.uuid != call)
            && board.queues().await.unwrap()[0].waiting.is_empty()
    })
    .await;
    assert!(sim
        .commands_received()
        .contains(&format!("api uuid_kill {call} CALL_REJECTED")));
    // Gone, but still known as a recent caller; no longer waiting, so nothing to hang up.
    assert!(board.caller(&call).await.unwrap().is_some());
    assert!(!board.eject(&call).await.unwrap());
    board.shutdown();
}

/// `support` (agent1, `user/1001@default`) and `sales` (seller, `user/1002@default`), both
/// phones answering; nobody logged in yet.
async fn support_and_sales(sim: &Simulator, store: Store, seed: u64) -> Board {
    for endpoint in ["user/1001@default", "user/1002@default"] {
        sim.add_endpoint(
            endpoint,
            AgentBehaviour::Answer {
                ring: Duration::from_millis(100),
                talk: None,
            },
        )
        .await
        .unwrap();
    }
    let mut sales = queue();
    sales.name = "sales".into();
    let mut agents = agents(1);
    agents.push(AgentConfig {
        name: "seller".into(),
        endpoint: "user/1002@default".parse().unwrap(),
        queues: vec![Membership {
            queue: "sales".into(),
            tier: 1,
            position: 1,
        }],
    });
    let (connection, events) = node(sim);
    Board::start(
        vec![(connection, events)],
        store,
        &[queue(), sales],
        &agents,
        board_options(seed),
    )
    .await
    .unwrap()
}

async fn call_in(sim: &Simulator, n: u32, talk: Option<Duration>) -> String {
    sim.place_call(CallSpec {
        from_number: format!("+1555000{n}"),
        from_name: format!("Caller {n}"),
        destination: "7000".into(),
        talk,
        ..CallSpec::default()
    })
    .await
    .unwrap()
}

async fn wait_waiting(board: &Board, queue: &str, count: usize) {
    wait_until(&format!("{count} wait in {queue}"), || async {
        board
            .queues()
            .await
            .unwrap()
            .iter()
            .any(|q| q.name == queue && q.waiting.len() == count)
    })
    .await;
}

/// The agent leg bridged to `call`, once it is.
async fn bridged_leg(sim: &Simulator, call: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let leg = sim
            .channels()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.uuid == call)
            .and_then(|c| c.bridged_to);
        if let Some(leg) = leg {
            return leg;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {call} is bridged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_moved_from_support_to_sales_is_answered_by_the_sales_agent() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(21).await;
    let board = support_and_sales(&sim, db.store.clone(), 21).await;
    board
        .set_agent_status("seller", AgentStatus::Available)
        .await
        .unwrap();
    let call = call_in(&sim, 1, Some(Duration::from_secs(1))).await;
    wait_waiting(&board, "support", 1).await;

    board.move_caller(&call, "sales").await.unwrap();
    let leg = bridged_leg(&sim, &call).await;
    let channels = sim.channels().await.unwrap();
    let caller = channels.iter().find(|c| c.uuid == call).unwrap();
    // A restarted service would find the caller in sales.
    assert_eq!(caller.variable("switchdesk_queue"), Some("sales"));
    let agent = channels.iter().find(|c| c.uuid == leg).unwrap();
    assert_eq!(agent.variable("switchdesk_agent"), Some("seller"));

    let sent = sim.commands_received();
    let index = |wanted: &dyn Fn(&String) -> bool, what: &str| {
        sent.iter()
            .position(wanted)
            .unwrap_or_else(|| panic!("{what} not sent: {sent:?}"))
    };
    // The new queue goes on the channel with the caller's set-up for the sales ringback.
    let setvar = index(
        &|c| {
            c.starts_with(&format!("api uuid_setvar_multi {call} "))
                && c.contains("switchdesk_queue=sales;")
        },
        "the queue variable",
    );
    let ring = sent
        .iter()
        .rposition(|c| *c == format!("sendmsg {call}"))
        .unwrap();
    assert!(setvar < ring, "{sent:?}");
    let bridges = sim.bridges_run().await.unwrap();
    assert_eq!(bridges.len(), 1, "{bridges:?}");
    let (_, dial) = &bridges[0];
    assert!(
        dial.contains(&format!("[origination_uuid={leg},")),
        "{dial}"
    );
    assert!(dial.contains("switchdesk_queue_name=sales"), "{dial}");
    assert!(dial.ends_with("]user/1002@default"), "{dial}");
    // Nobody in support was ever rung.
    assert!(!sent.iter().any(|c| c.contains("user/1001@default")));

    let queues = board.queues().await.unwrap();
    let support = queues.iter().find(|q| q.name == "support").unwrap();
    let sales = queues.iter().find(|q| q.name == "sales").unwrap();
    assert_eq!((support.counters.moved, support.counters.answered), (1, 0));
    assert_eq!(sales.counters.answered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_put_in_front_is_bridged_before_those_who_came_earlier() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(22).await;
    let board = support_and_sales(&sim, db.store.clone(), 22).await;
    let mut calls = Vec::new();
    for n in 1..=3 {
        calls.push(call_in(&sim, n, Some(Duration::from_millis(300))).await);
        wait_waiting(&board, "support", n as usize).await;
    }
    board.to_front(&calls[2]).await.unwrap();
    let waiting: Vec<String> = board.queues().await.unwrap()[1]
        .waiting
        .iter()
        .map(|w| w.call.clone())
        .collect();
    assert_eq!(
        waiting,
        [calls[2].clone(), calls[0].clone(), calls[1].clone()]
    );
    wait_until("the caller's priority is on the channel", || async {
        sim.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == calls[2] && c.variable("switchdesk_priority") == Some("1"))
    })
    .await;

    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    wait_until("every caller was served", || async {
        board
            .agent("agent1")
            .await
            .unwrap()
            .is_some_and(|a| a.calls == 3 && a.activity == "idle")
    })
    .await;
    let rung = sim.bridges_run().await.unwrap();
    let bridged = |call: &str| {
        rung.iter()
            .position(|(caller, _)| caller == call)
            .unwrap_or_else(|| panic!("{call} never rung: {rung:?}"))
    };
    assert!(bridged(&calls[2]) < bridged(&calls[0]));
    assert!(bridged(&calls[0]) < bridged(&calls[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_whispers_into_an_agents_call_until_it_ends() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(23).await;
    let board = support_and_sales(&sim, db.store.clone(), 23).await;
    sim.add_endpoint(
        "user/1009@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: None,
        },
    )
    .await
    .unwrap();
    let refused = board
        .eavesdrop(
            "agent1",
            EavesdropMode::Listen,
            &"user/1009@default".parse().unwrap(),
            "sam",
        )
        .await;
    assert!(
        matches!(refused, Err(BoardError::Acd(AcdError::NotInCall(_)))),
        "{refused:?}"
    );
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let call = call_in(&sim, 1, None).await;
    let agent_leg = bridged_leg(&sim, &call).await;
    wait_until("the board saw the bridge", || async {
        board
            .agent("agent1")
            .await
            .unwrap()
            .is_some_and(|a| a.activity == "in_call")
    })
    .await;
    wait_until("the switchboard knows the call is connected", || async {
        board
            .queues()
            .await
            .unwrap()
            .iter()
            .any(|q| q.name == "support" && q.counters.answered == 1)
    })
    .await;

    let joined = board
        .eavesdrop(
            "agent1",
            EavesdropMode::Whisper,
            &"user/1009@default".parse().unwrap(),
            "sam",
        )
        .await
        .unwrap();
    assert_eq!(
        (joined.agent_leg.as_str(), joined.call.as_str()),
        (agent_leg.as_str(), call.as_str())
    );
    let sent = sim.commands_received();
    let expected = format!(
        "bgapi originate {{origination_uuid={},originate_timeout=30,ignore_early_media=true,origination_caller_id_name='Whisper: agent1',eavesdrop_enable_dtmf=false,eavesdrop_whisper_bleg=true}}user/1009@default &eavesdrop({agent_leg})",
        joined.leg
    );
    assert!(sent.contains(&expected), "{expected} not in {sent:?}");
    let channels = sim.channels().await.unwrap();
    let supervisor = channels.iter().find(|c| c.uuid == joined.leg).unwrap();
    assert!(supervisor.answered);
    assert_eq!(supervisor.variable("eavesdrop_whisper_bleg"), Some("true"));

    // The supervisor stays on while the call lasts, and is let go when it ends.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sim
        .channels()
        .await
        .unwrap()
        .iter()
        .any(|c| c.uuid == joined.leg));
    sim.hangup(&call, "NORMAL_CLEARING").await.unwrap();
    wait_until("the supervisor's leg ends with the call", || async {
        !sim.channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.uuid == joined.leg)
    })
    .await;
    // And the board never took the supervisor's leg for one of its own.
    assert!(!sim
        .commands_received()
        .contains(&format!("api uuid_kill {} NORMAL_CLEARING", joined.leg)));
}

/// A caller-ID name is whatever the caller's phone sent. It is shown on the agent's phone
/// reduced to its words, and no command to the switch carries it where FreeSWITCH would expand
/// it or run something after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_id_name_that_would_expand_reaches_no_command() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(21).await;
    answering_agent(&sim, 200).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 21).await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let call = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            from_name: "${system(touch /tmp/x)}&bgsystem(id)|'\"\\".into(),
            destination: "7000".into(),
            talk: Some(Duration::from_secs(1)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let rung = || async {
        sim.bridges_run()
            .await
            .unwrap()
            .into_iter()
            .find(|(caller, _)| *caller == call)
            .map(|(_, dial)| dial)
    };
    wait_until("the agent is rung for the caller", || async {
        rung().await.is_some()
    })
    .await;
    let sent = sim.commands_received();
    let originate = rung().await.unwrap();
    assert!(
        originate.contains("origination_caller_id_name='system touch tmp x bgsystem id',"),
        "{originate}"
    );
    for command in &sent {
        assert!(
            !command.contains('$') && !command.contains("system("),
            "{command}"
        );
        assert!(!command.contains(['|', '"', '\\']), "{command}");
    }
    assert!(
        !originate.contains(['&', '$', '|', '"', '\\']),
        "{originate}"
    );
    assert!(originate.ends_with("]user/1001@default"), "{originate}");
    board.shutdown();
}

// ----- one agent rung by the caller's own `bridge` ------------------------------------------

/// How often `call` had an agent rung by its own `bridge`.
async fn times_rung(sim: &Simulator, call: &str) -> usize {
    sim.bridges_run()
        .await
        .unwrap()
        .iter()
        .filter(|(caller, _)| caller == call)
        .count()
}

/// `call` is up, answered and parked (waiting, not in a bridge).
async fn parked(sim: &Simulator, call: &str) -> bool {
    sim.channels()
        .await
        .unwrap()
        .iter()
        .any(|c| c.uuid == call && c.answered && c.parked && c.bridged_to.is_none())
}

/// A live agent leg rung for `call`, if any.
async fn leg_for(sim: &Simulator, call: &str) -> Option<String> {
    sim.channels()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.variable("switchdesk_caller_uuid") == Some(call))
        .map(|c| c.uuid)
}

async fn one_agent_on(
    sim: &Simulator,
    store: Store,
    seed: u64,
    behaviour: AgentBehaviour,
) -> Board {
    sim.add_endpoint("user/1001@default", behaviour)
        .await
        .unwrap();
    let mut q = queue();
    q.ring_timeout_secs = 1;
    let (board, _esl) = board_with(sim, store, q, 1, board_options(seed)).await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    board
}

/// The agent hangs up after the talk: the caller's bridge ends and FreeSWITCH hangs the caller
/// up (`hangup_after_bridge`); the call counts as answered and ended, the agent is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_hanging_up_after_the_talk_ends_the_callers_call() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(31).await;
    let board = one_agent_on(
        &sim,
        db.store.clone(),
        31,
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: Some(Duration::from_millis(400)),
        },
    )
    .await;
    let mut updates = board.subscribe();
    // The caller would talk for ever: only the agent ends the call.
    let call = call_in(&sim, 1, None).await;
    let leg = bridged_leg(&sim, &call).await;
    wait_until("the caller is hung up after the agent", || async {
        sim.channels().await.unwrap().iter().all(|c| c.uuid != call)
    })
    .await;
    wait_until("the agent is idle with one call", || async {
        board
            .agent("agent1")
            .await
            .unwrap()
            .is_some_and(|a| a.activity == "idle" && a.calls == 1)
    })
    .await;
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!(
        (
            queue.counters.offered,
            queue.counters.answered,
            queue.counters.abandoned
        ),
        (1, 1, 0)
    );
    let mut seen = Vec::new();
    drain(&mut updates, &mut seen);
    assert!(seen.iter().any(
        |u| matches!(u, Update::Connected { call: c, agent, .. } if *c == call && agent == "agent1")
    ));
    // The bridge was the caller's own: never a `uuid_bridge`, never a kill of the leg.
    let sent = sim.commands_received();
    assert!(!sent.iter().any(|c| c.starts_with("api uuid_bridge")));
    assert!(!sent
        .iter()
        .any(|c| c.starts_with(&format!("api uuid_kill {leg}"))));
    assert!(!sent
        .iter()
        .any(|c| c.starts_with(&format!("api uuid_kill {call}"))));
    board.shutdown();
}

/// The agent does not answer: the caller stays answered and parked, hears the hold music
/// again, and is offered again once the agent's back-off is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_agent_does_not_answer_keeps_waiting_and_is_offered_again() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(32).await;
    let board = one_agent_on(&sim, db.store.clone(), 32, AgentBehaviour::NoAnswer).await;
    let call = call_in(&sim, 1, None).await;
    wait_until("the caller is offered twice", || async {
        times_rung(&sim, &call).await >= 2
    })
    .await;
    assert!(sim
        .channels()
        .await
        .unwrap()
        .iter()
        .any(|c| c.uuid == call && c.answered));
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!(queue.waiting.len(), 1);
    assert_eq!((queue.counters.answered, queue.counters.abandoned), (0, 0));
    // Between the two offers: the hold music again (a `sendmsg` of its own).
    let sent = sim.commands_received();
    let sendmsgs = sent
        .iter()
        .filter(|c| **c == format!("sendmsg {call}"))
        .count();
    assert!(sendmsgs >= 3, "{sent:?}");
    board.shutdown();
}

/// The agent's phone is busy (486): the caller keeps waiting, parked and answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_agent_is_busy_keeps_waiting() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(33).await;
    let board = one_agent_on(&sim, db.store.clone(), 33, AgentBehaviour::Busy).await;
    let call = call_in(&sim, 1, None).await;
    wait_until("the caller was offered, and is parked again", || async {
        times_rung(&sim, &call).await >= 1
            && leg_for(&sim, &call).await.is_none()
            && parked(&sim, &call).await
    })
    .await;
    let queue = &board.queues().await.unwrap()[0];
    assert_eq!(queue.waiting.len(), 1);
    assert_eq!((queue.counters.answered, queue.counters.abandoned), (0, 0));
    board.shutdown();
}

/// The caller hangs up while the agent's phone rings: FreeSWITCH cancels the agent's leg
/// with the caller's bridge, the agent is free, and nobody is rung for the gone caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hanging_up_while_the_agent_rings_cancels_the_ring() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(34).await;
    sim.add_endpoint("user/1001@default", AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    let (board, _esl) = board(&sim, db.store.clone(), 1, 34).await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let call = call_in(&sim, 1, None).await;
    wait_until("the agent's phone rings", || async {
        leg_for(&sim, &call).await.is_some()
    })
    .await;
    assert!(sim.hangup(&call, "NORMAL_CLEARING").await.unwrap());
    wait_until("the ring is cancelled and the agent idle", || async {
        leg_for(&sim, &call).await.is_none()
            && board
                .agent("agent1")
                .await
                .unwrap()
                .is_some_and(|a| a.activity == "idle")
    })
    .await;
    // Past the agent's back-off: still nobody rung again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(times_rung(&sim, &call).await, 1);
    assert!(leg_for(&sim, &call).await.is_none());
    let queue = &board.queues().await.unwrap()[0];
    assert!(queue.waiting.is_empty());
    assert_eq!((queue.counters.answered, queue.counters.abandoned), (0, 1));
    board.shutdown();
}

/// A supervisor moves a caller whose agent is ringing: the offer is withdrawn (the leg
/// killed, `hangup_after_bridge` off first so an answer in the same instant cannot hang the
/// caller up), and the caller keeps waiting in the new queue, parked, with hold music.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_offer_kills_the_leg_and_the_caller_keeps_waiting() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(35).await;
    let board = support_and_sales(&sim, db.store.clone(), 35).await;
    sim.add_endpoint("user/1001@default", AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    let call = call_in(&sim, 1, None).await;
    wait_until("agent1's phone rings", || async {
        leg_for(&sim, &call).await.is_some()
    })
    .await;
    let leg = leg_for(&sim, &call).await.unwrap();
    board.move_caller(&call, "sales").await.unwrap();
    // Hold music again once the bridge returned: a `sendmsg` (playback) after the kill.
    let music_after_kill = |sent: &[String]| {
        sent.iter()
            .position(|c| c.starts_with(&format!("api uuid_kill {leg}")))
            .is_some_and(|kill| sent[kill..].iter().any(|c| *c == format!("sendmsg {call}")))
    };
    wait_until(
        "the leg is gone and the caller parked in sales, with music",
        || async {
            sim.channels().await.unwrap().iter().all(|c| c.uuid != leg)
                && music_after_kill(&sim.commands_received())
                && parked(&sim, &call).await
                && board
                    .queues()
                    .await
                    .unwrap()
                    .iter()
                    .any(|q| q.name == "sales" && q.waiting.len() == 1)
        },
    )
    .await;
    let sent = sim.commands_received();
    let position = |wanted: &str| {
        sent.iter()
            .position(|c| c.starts_with(wanted))
            .unwrap_or_else(|| panic!("{wanted} not sent: {sent:?}"))
    };
    let off = position(&format!("api uuid_setvar {call} hangup_after_bridge false"));
    let kill = position(&format!("api uuid_kill {leg}"));
    assert!(off < kill, "{sent:?}");
    assert_eq!(times_rung(&sim, &call).await, 1);
    assert_eq!(
        board.agent("agent1").await.unwrap().map(|a| a.activity),
        Some("idle".to_owned())
    );
    board.shutdown();
}

/// While the caller's own `bridge` rings an agent, the periodic announcements are not sent:
/// FreeSWITCH would play them inside the ring, holding the bridge up behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_played_to_a_caller_whose_bridge_rings() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(36).await;
    sim.add_endpoint("user/1001@default", AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    let mut q = queue();
    q.ring_timeout_secs = 30;
    let (board, _esl) = board_with(&sim, db.store.clone(), q, 1, board_options(36)).await;
    let call = call_in(&sim, 1, None).await;
    wait_waiting(&board, "support", 1).await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();
    wait_until("the agent's phone rings", || async {
        leg_for(&sim, &call).await.is_some()
    })
    .await;
    let rung_at = sim.commands_received().len();
    // Longer than the periodic announcement's interval (3 s) and its minimum gap (1 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(leg_for(&sim, &call).await.is_some());
    let since: Vec<String> = sim.commands_received()[rung_at..]
        .iter()
        .filter(|c| c.contains(call.as_str()))
        .cloned()
        .collect();
    assert!(since.is_empty(), "{since:?}");
    board.shutdown();
}

/// The database's write lock, held by another connection (as a long write or a backup would)
/// until dropped or released.
async fn hold_write_lock(url: &str) -> sqlx::AnyConnection {
    use sqlx::{Connection as _, Executor as _};
    let mut holder = sqlx::AnyConnection::connect(url).await.unwrap();
    holder.execute("BEGIN IMMEDIATE").await.unwrap();
    holder
}

async fn release_write_lock(mut holder: sqlx::AnyConnection) {
    use sqlx::Executor as _;
    holder.execute("ROLLBACK").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_is_offered_while_a_settings_write_waits_for_the_database() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(21).await;
    answering_agent(&sim, 200).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 21).await;
    board
        .set_agent_status("agent1", AgentStatus::Available)
        .await
        .unwrap();

    let holder = hold_write_lock(&db.url).await;
    let mut sales = queue();
    sales.name = "sales".into();
    let saving = tokio::spawn({
        let board = board.clone();
        async move { board.save_queue(sales).await }
    });
    // Answered after the save request (one inbox, in order): the save is with the writer.
    assert_eq!(board.queues().await.unwrap().len(), 1);
    assert!(
        !saving.is_finished(),
        "the save cannot have committed: the database is locked"
    );

    let call = sim
        .place_call(CallSpec {
            from_number: "+15550021".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    // One agent is rung by the caller's own bridge, a ring-all by an originate.
    wait_until("the agent is rung for the caller", || async {
        let by_caller = sim
            .bridges_run()
            .await
            .unwrap_or_default()
            .iter()
            .any(|(caller, _)| caller == &call);
        by_caller
            || sim
                .commands_received()
                .iter()
                .any(|c| c.starts_with("bgapi originate") && c.contains(&call))
    })
    .await;
    assert!(
        !saving.is_finished(),
        "the save is acknowledged only once it committed"
    );
    let stored: Vec<String> = db
        .store
        .queues()
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(stored, ["support"]);

    release_write_lock(holder).await;
    saving.await.unwrap().unwrap();
    let stored: Vec<String> = db
        .store
        .queues()
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(stored, ["sales", "support"]);
    let served: Vec<String> = board
        .queues()
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(served, ["sales", "support"]);
    board.shutdown();
}

/// Holds the switchboard's task inside the first identification until released, as a
/// switchboard falling behind would be.
struct Stuck {
    entered: std::sync::atomic::AtomicBool,
    release: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl switchdesk::switch::CallerIdentity for Stuck {
    fn identify(&self, _e164: Option<&str>, _name: &str) -> switchdesk::switch::Identity {
        let release = self.release.lock().unwrap().take();
        if let Some(release) = release {
            self.entered
                .store(true, std::sync::atomic::Ordering::SeqCst);
            // The worker's other tasks move to another thread meanwhile (a plain blocking
            // wait could strand the one in its LIFO slot: the simulator, the forwarder).
            tokio::task::block_in_place(|| {
                let _ = release.recv();
            });
        }
        switchdesk::switch::Identity::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbox_is_lag_and_the_node_is_read_again() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(22).await;
    let (release, released) = std::sync::mpsc::channel();
    let stuck = Arc::new(Stuck {
        entered: false.into(),
        release: std::sync::Mutex::new(Some(released)),
    });
    let options = BoardOptions {
        identity: stuck.clone(),
        inbox_capacity: 2,
        ..board_options(22)
    };
    let metrics = options.tasks.metrics().clone();
    let (board, _esl) = board_with(&sim, db.store.clone(), queue(), 0, options).await;
    let resyncs = || {
        sim.commands_received()
            .iter()
            .filter(|c| *c == "api show channels as json")
            .count()
    };
    wait_until("the first resync", || async { resyncs() == 1 }).await;

    let mut calls = Vec::new();
    let call = |n: u32| CallSpec {
        from_number: format!("+1555002{n:04}"),
        destination: "7000".into(),
        ..CallSpec::default()
    };
    calls.push(sim.place_call(call(0)).await.unwrap());
    wait_until("the switchboard is held", || async {
        stuck.entered.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
    let lagged = || {
        metrics
            .get(
                switchdesk::metrics::SWITCHBOARD_LAGGED_TOTAL,
                &[("node", "fs1"), ("queue", "inbox")],
            )
            .unwrap_or(0.0)
    };
    // The first caller's events may already have filled the inbox of two and been resynced:
    // count from the moment the switchboard is held.
    let (held_at, lagged_at) = (resyncs(), lagged());
    for n in 1..=8 {
        calls.push(sim.place_call(call(n)).await.unwrap());
    }
    // An event dropped while the switchboard is held: the inbox is full from here on.
    wait_until("an event found the inbox full", || async {
        lagged() > lagged_at
    })
    .await;
    // The forwarder waits for room to ask for the resync: the inbox is full, and a request
    // is answered busy at once rather than left waiting.
    let asked = tokio::time::timeout(Duration::from_secs(10), board.queues()).await;
    assert!(
        matches!(asked, Ok(Err(BoardError::Busy))),
        "answered busy at once"
    );

    release.send(()).unwrap();
    wait_until("the node is read again", || async { resyncs() > held_at }).await;
    // Every caller is queued, the dropped events' callers found by the resync.
    wait_until("every caller waits", || async {
        // The inbox may still be full of the events the release let through: busy is "not
        // yet", as a client would retry.
        let Ok(queues) = board.queues().await else {
            return false;
        };
        let waiting = &queues[0].waiting;
        calls.iter().all(|c| waiting.iter().any(|w| &w.call == c))
    })
    .await;
    board.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_waiting_for_the_database_land_in_the_order_they_came() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(23).await;
    let (board, _esl) = board(&sim, db.store.clone(), 1, 23).await;
    let sales = |wrap_up_secs: u64| {
        let mut q = queue();
        q.name = "sales".into();
        q.wrap_up_secs = wrap_up_secs;
        q
    };

    let holder = hold_write_lock(&db.url).await;
    // Each asked once the switchboard took the one before (one inbox, in order): a save, a
    // second save of the same queue, a delete of the queue being saved, and a save again.
    // Each request is polled once here, which puts it in the inbox, before the next is made:
    // a spawned task could reach the inbox after the next one on a loaded machine.
    type Change =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BoardError>> + Send>>;
    let mut changes: Vec<Change> = Vec::new();
    for change in 0..4u64 {
        let asking = board.clone();
        let mut asked: Change = Box::pin(async move {
            match change {
                2 => asking.delete_queue("sales").await,
                n => asking.save_queue(sales(n + 1)).await,
            }
        });
        let waiting =
            std::future::poll_fn(|cx| std::task::Poll::Ready(asked.as_mut().poll(cx).is_pending()))
                .await;
        assert!(
            waiting,
            "change {change} answered while the database is locked"
        );
        board.queues().await.unwrap();
        changes.push(asked);
    }

    release_write_lock(holder).await;
    for outcome in futures_util::future::join_all(changes).await {
        outcome.unwrap();
    }
    let stored = db.store.queues().await.unwrap();
    let stored_sales = stored.iter().find(|q| q.name == "sales").unwrap();
    assert_eq!(stored_sales.wrap_up_secs, 4);
    let served = board.queues().await.unwrap();
    assert!(served.iter().any(|q| q.name == "sales"));
    board.shutdown();
}

/// The applications FreeSWITCH ran on `call` (CHANNEL_EXECUTE), as `app arg`.
fn ran_on(events: &std::sync::Mutex<Vec<Arc<Event>>>, call: &str) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e.name().as_deref() == Some("CHANNEL_EXECUTE")
                && e.get("Unique-ID").as_deref() == Some(call)
        })
        .map(|e| {
            format!(
                "{} {}",
                e.get("Application").unwrap_or_default(),
                e.get("Application-Data").unwrap_or_default()
            )
        })
        .collect()
}

/// A Russian contact calling an English queue hears the Russian prompts, their place said by
/// mod_say_ru as a masculine ordinal ("вы первый в очереди"); a stranger in the same queue
/// hears the queue's English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_contact_hears_the_russian_announcement_in_an_english_queue() {
    let db = common::TestDb::sqlite().await;
    let sim = simulator(41).await;
    let book = Arc::new(PhoneBook::new(Numbering::new("RU").unwrap()));
    book.put_contact(&Contact {
        id: 5,
        first_name: "Ольга".into(),
        last_name: "Смирнова".into(),
        language: Some("ru-RU".into()),
        numbers: vec![Number {
            number: "+74951234567".into(),
            kind: NumberKind::Work,
        }],
        ..Default::default()
    });
    let options = BoardOptions {
        identity: book,
        ..board_options(41)
    };
    let events = watch(&sim, &["CHANNEL_EXECUTE"]);
    let (board, _esl) = board_with(&sim, db.store.clone(), queue(), 1, options).await;
    let mut calls = Vec::new();
    for (number, name) in [("+74951234567", "Olga"), ("+74959999999", "Stranger")] {
        calls.push(
            sim.place_call(CallSpec {
                from_number: number.into(),
                from_name: name.into(),
                destination: "7000".into(),
                ..CallSpec::default()
            })
            .await
            .unwrap(),
        );
        // One at a time, so the Russian caller is first in line.
        wait_waiting(&board, "support", calls.len()).await;
    }
    let (olga, stranger) = (&calls[0], &calls[1]);
    // Until the hold music went on again after the first announcement.
    wait_until("both callers heard their place", || async {
        [olga, stranger].iter().all(|call| {
            ran_on(&events, call)
                .iter()
                .skip_while(|ran| !ran.starts_with("say "))
                .any(|ran| ran.starts_with("playback "))
        })
    })
    .await;
    let elena = "/usr/share/freeswitch/sounds/ru/RU/elena";
    let heard = ran_on(&events, olga);
    let from = heard
        .iter()
        .position(|ran| ran.starts_with("playback "))
        .unwrap();
    assert_eq!(
        heard[from..from + 4],
        [
            format!("playback {elena}/switchdesk/you_are.wav"),
            "multiset gender=male_h cases=nominativus".to_owned(),
            "say ru number pronounced 1".to_owned(),
            format!("playback file_string://{elena}/switchdesk/in_line.wav!tone_stream://%(1000,4000,440);loops=-1"),
        ],
        "{heard:?}"
    );
    let heard = ran_on(&events, stranger);
    let from = heard
        .iter()
        .position(|ran| ran.starts_with("playback "))
        .unwrap();
    assert_eq!(
        heard[from..from + 3],
        [
            "playback ivr/ivr-you_are_number.wav".to_owned(),
            "say en number pronounced 2".to_owned(),
            "playback file_string://ivr/ivr-in_line.wav!tone_stream://%(1000,4000,440);loops=-1"
                .to_owned(),
        ],
        "{heard:?}"
    );
    assert!(!heard.iter().any(|ran| ran.starts_with("multiset")));
    // mod_say_ru's variables are on the Russian caller's channel, set in the channel's order.
    let channels = sim.channels().await.unwrap();
    let channel = channels.iter().find(|c| c.uuid == *olga).unwrap();
    assert_eq!(channel.variable("gender"), Some("male_h"));
    assert_eq!(channel.variable("cases"), Some("nominativus"));
    board.shutdown();
}
