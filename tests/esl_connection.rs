//! The ESL client against the simulated switch over real loopback TCP: authentication,
//! subscription, pipelined `api`, `bgapi` by Job-UUID, `sendmsg`, heartbeat watchdog, reconnect
//! with resubscription, back-off on a wrong password, and shedding a slow consumer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchdesk::config::Secret;
use switchdesk::esl::command::CallCommand;
use switchdesk::esl::event::EventFormat;
use switchdesk::esl::{Connection, ConnectionError, ConnectionEvent, ConnectionOptions};
use switchdesk::sim::{AgentBehaviour, CallSpec, SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

fn options(address: String, password: &str) -> ConnectionOptions {
    ConnectionOptions {
        node: "test".into(),
        address,
        password: Secret::new(password),
        format: EventFormat::Plain,
        events: vec!["ALL".into()],
        heartbeat: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(2),
        max_frame: 8 * 1024 * 1024,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        event_buffer: 4096,
        reconnect: true,
    }
}

async fn simulator(config: SimConfig) -> Simulator {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(listener, config).await.unwrap()
}

/// Waits (bounded) for the first connection event that `pick` accepts.
async fn wait_for<T>(
    events: &mut Receiver<ConnectionEvent>,
    mut pick: impl FnMut(&ConnectionEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("timed out waiting for an ESL event");
        match event {
            Ok(event) => {
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => panic!("connection closed"),
        }
    }
}

fn connected(event: &ConnectionEvent) -> Option<u64> {
    match event {
        ConnectionEvent::Connected { generation } => Some(*generation),
        _ => None,
    }
}

fn named(
    name: &'static str,
) -> impl FnMut(&ConnectionEvent) -> Option<Arc<switchdesk::esl::Event>> {
    move |event| match event {
        ConnectionEvent::Events(batch) => batch.iter().find(|e| e.is(name)).cloned().map(Arc::new),
        _ => None,
    }
}

#[tokio::test]
async fn authenticates_subscribes_and_answers_api() {
    let sim = simulator(SimConfig::default()).await;
    let mut opts = options(sim.addr().to_string(), "ClueCon");
    opts.events = vec!["CHANNEL_PARK".into(), "CHANNEL_HANGUP_COMPLETE".into()];
    let (esl, mut events) = Connection::spawn_with_subscriber(opts);
    assert_eq!(wait_for(&mut events, connected).await, 1);

    let status = esl.api("status").await.unwrap();
    assert!(status.contains("is ready"), "{status}");
    assert_eq!(
        esl.api("show channels as json").await.unwrap(),
        "{\"row_count\": 0}\n"
    );
    assert_eq!(
        esl.api("uuid_kill 00000000-0000-0000-0000-000000000000")
            .await
            .unwrap(),
        "-ERR No such channel!\n"
    );
    assert_eq!(
        esl.api_ok("uuid_kill 00000000-0000-0000-0000-000000000000")
            .await,
        Err(ConnectionError::Rejected("-ERR No such channel!".into()))
    );
    let sent = sim.commands_received();
    assert!(
        sent.contains(
            &"event plain CHANNEL_PARK CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB HEARTBEAT"
                .to_string()
        ),
        "{sent:?}"
    );

    // A parked caller reaches the subscriber with its URL-decoded caller id.
    let caller = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            from_name: "Caller 1".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let park = wait_for(&mut events, named("CHANNEL_PARK")).await;
    assert_eq!(park.unique_id().unwrap(), caller);
    assert_eq!(park.get("Caller-Caller-ID-Name").unwrap(), "Caller 1");
    assert_eq!(park.variable("switchdesk_queue").unwrap(), "support");
    esl.shutdown();
}

#[tokio::test]
async fn a_thousand_pipelined_api_calls_each_get_their_own_reply() {
    let sim = simulator(SimConfig::default()).await;
    let (esl, mut events) =
        Connection::spawn_with_subscriber(options(sim.addr().to_string(), "ClueCon"));
    wait_for(&mut events, connected).await;
    let caller = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    wait_for(&mut events, named("CHANNEL_PARK")).await;
    for i in 0..20 {
        assert_eq!(
            esl.api(&format!("uuid_setvar {caller} sd_probe_{i} value-{i}"))
                .await
                .unwrap(),
            "+OK\n"
        );
    }
    // 1,000 requests in flight at once; each reply must be the one for its own request.
    let calls = (0..1000).map(|n| {
        let esl = esl.clone();
        let caller = caller.clone();
        tokio::spawn(async move {
            (
                n,
                esl.api(&format!("uuid_getvar {caller} sd_probe_{}", n % 20))
                    .await,
            )
        })
    });
    for call in calls {
        let (n, reply) = call.await.unwrap();
        assert_eq!(reply.unwrap(), format!("value-{}", n % 20));
    }
    // Sent back to back without waiting: the switch runs them in that order (the getvar sees
    // the setvar before it), and each reply comes back in its place.
    let replies = esl
        .api_pipelined(&[
            &format!("uuid_setvar {caller} sd_probe_0 changed"),
            &format!("uuid_getvar {caller} sd_probe_0"),
            "uuid_break 4b1f5a0e-1111-4222-8333-944455556666 all",
            &format!("uuid_getvar {caller} sd_probe_1"),
        ])
        .await;
    let replies: Vec<String> = replies.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        replies,
        ["+OK\n", "changed", "-ERR No such channel!\n", "value-1"]
    );
    esl.shutdown();
}

#[tokio::test]
async fn bgapi_jobs_complete_by_their_own_job_uuid() {
    let sim = simulator(SimConfig::default()).await;
    sim.add_endpoint(
        "user/1001",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(50),
            talk: None,
        },
    )
    .await
    .unwrap();
    sim.add_endpoint("user/1002", AgentBehaviour::Busy)
        .await
        .unwrap();
    sim.add_endpoint("user/1003", AgentBehaviour::Unregistered)
        .await
        .unwrap();
    let (esl, mut events) =
        Connection::spawn_with_subscriber(options(sim.addr().to_string(), "ClueCon"));
    wait_for(&mut events, connected).await;

    let agent = "9a8b25a2-ee22-44b7-9a88-33801a5d0b8d";
    let answered = esl
        .bgapi(&format!(
            "originate {{origination_uuid={agent}}}user/1001 &park()"
        ))
        .await
        .unwrap();
    let busy = esl.bgapi("originate user/1002 &park()").await.unwrap();
    let unregistered = esl.bgapi("originate user/1003 &park()").await.unwrap();
    let mut ids = vec![
        answered.job_uuid.clone(),
        busy.job_uuid.clone(),
        unregistered.job_uuid.clone(),
    ];
    assert_eq!(
        unregistered.result().await.unwrap(),
        "-ERR USER_NOT_REGISTERED\n"
    );
    assert_eq!(busy.result().await.unwrap(), "-ERR USER_BUSY\n");
    assert_eq!(answered.result().await.unwrap(), format!("+OK {agent}\n"));
    // The switch ran each job under the Job-UUID this client chose.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(
            wait_for(&mut events, named("BACKGROUND_JOB"))
                .await
                .job_uuid()
                .unwrap()
                .into_owned(),
        );
    }
    ids.sort();
    seen.sort();
    assert_eq!(ids, seen);

    // sendmsg: accepted for a live channel, refused with the switch's words for a bogus one.
    let reply = esl
        .sendmsg(
            agent,
            CallCommand::Execute {
                app: "playback".into(),
                arg: Some("tone_stream://%(100,0,400)".into()),
                event_lock: true,
                event_uuid: None,
                loops: None,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply, "+OK");
    let bogus = "78c76637-5501-4cfc-a5c4-bb91df34549e";
    assert_eq!(
        esl.sendmsg(
            bogus,
            CallCommand::Hangup {
                cause: "NORMAL_CLEARING".into()
            },
            None
        )
        .await,
        Err(ConnectionError::Rejected(format!(
            "-ERR invalid session id [{bogus}]"
        )))
    );
    esl.shutdown();
}

#[tokio::test]
async fn reconnects_and_resubscribes_after_the_switch_restarts() {
    let first = simulator(SimConfig::default()).await;
    let address = first.addr();
    let mut opts = options(address.to_string(), "ClueCon");
    opts.events = vec!["CHANNEL_PARK".into()];
    let (esl, mut events) = Connection::spawn_with_subscriber(opts);
    assert_eq!(wait_for(&mut events, connected).await, 1);

    // A cut connection: waiters fail, the connection comes back by itself.
    first.drop_connections().await.unwrap();
    let reason = wait_for(&mut events, |e| match e {
        ConnectionEvent::Disconnected { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("closed"), "{reason}");
    assert_eq!(wait_for(&mut events, connected).await, 2);
    assert!(esl.api("status").await.unwrap().contains("is ready"));

    // The switch process dies and a new one starts on the same port.
    first.shutdown();
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::Disconnected { .. }).then_some(())
    })
    .await;
    assert_eq!(esl.api("status").await, Err(ConnectionError::NotConnected));
    let listener = loop {
        match TcpListener::bind(address).await {
            Ok(listener) => break listener,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let second = Simulator::start(
        listener,
        SimConfig {
            seed: 7,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(wait_for(&mut events, connected).await, 3);
    assert!(second
        .commands_received()
        .contains(&"event plain CHANNEL_PARK BACKGROUND_JOB HEARTBEAT".to_string()));
    let caller = second
        .place_call(CallSpec {
            from_number: "+15550002".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(
        wait_for(&mut events, named("CHANNEL_PARK"))
            .await
            .unique_id()
            .unwrap(),
        caller
    );
    assert_eq!(
        esl.stats()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    esl.shutdown();
}

/// Collects log lines so the test can count them.
#[derive(Clone, Default)]
struct LogLines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_wrong_password_logs_one_clear_error_per_backoff_step() {
    let logs = LogLines::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = simulator(SimConfig {
        password: "s3cret-pw".into(),
        ..SimConfig::default()
    })
    .await;
    let (esl, mut events) =
        Connection::spawn_with_subscriber(options(sim.addr().to_string(), "wrong-password"));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let errors = text
        .lines()
        .filter(|l| l.contains("ESL authentication failed"))
        .count();
    let attempts = sim
        .commands_received()
        .iter()
        .filter(|c| c.starts_with("auth "))
        .count();
    let failures = esl
        .stats()
        .auth_failures
        .load(std::sync::atomic::Ordering::Relaxed) as usize;
    // One error line per refused attempt, and back-off (50 ms doubling to 400 ms) keeps the
    // attempts to a handful rather than a hot loop.
    assert!(errors >= 3, "{text}");
    assert_eq!(errors, failures);
    assert!(
        attempts == failures || attempts == failures + 1,
        "{attempts} attempts, {failures} failures"
    );
    assert!(attempts <= 12, "{attempts} attempts in 1.5 s");
    assert!(
        !text.contains("wrong-password"),
        "the password reached a log line"
    );

    // Fixing the password on the switch side lets the next attempt in.
    sim.set_password("wrong-password").await.unwrap();
    wait_for(&mut events, connected).await;
    assert!(esl.api("status").await.unwrap().contains("is ready"));
    esl.shutdown();
}

/// A peer that authenticates and then says nothing, not even HEARTBEAT.
#[tokio::test]
async fn a_silent_switch_is_declared_dead_after_two_heartbeats() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = socket.write_all(b"Content-Type: auth/request\n\n").await;
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
                    .await;
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n").await;
                // Then silence, with the socket held open.
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let mut opts = options(address.to_string(), "ClueCon");
    opts.heartbeat = Duration::from_millis(150);
    let (esl, mut events) = Connection::spawn_with_subscriber(opts);
    wait_for(&mut events, connected).await;
    let started = tokio::time::Instant::now();
    let reason = wait_for(&mut events, |e| match e {
        ConnectionEvent::Disconnected { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("presumed dead"), "{reason}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // And it tries again.
    assert_eq!(wait_for(&mut events, connected).await, 2);
    esl.shutdown();
}

#[tokio::test]
async fn heartbeats_keep_a_quiet_connection_alive() {
    let sim = simulator(SimConfig {
        heartbeat: Duration::from_millis(100),
        ..SimConfig::default()
    })
    .await;
    let mut opts = options(sim.addr().to_string(), "ClueCon");
    opts.heartbeat = Duration::from_millis(100);
    opts.events = vec!["HEARTBEAT".into()];
    let (esl, mut events) = Connection::spawn_with_subscriber(opts);
    wait_for(&mut events, connected).await;
    for _ in 0..5 {
        wait_for(&mut events, named("HEARTBEAT")).await;
    }
    assert!(esl.is_connected());
    assert_eq!(
        esl.stats()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    esl.shutdown();
}

#[tokio::test]
async fn a_slow_consumer_is_shed_and_never_stalls_the_reader() {
    let sim = simulator(SimConfig::default()).await;
    let mut opts = options(sim.addr().to_string(), "ClueCon");
    opts.event_buffer = 16;
    let (esl, mut slow) = Connection::spawn_with_subscriber(opts);
    // The slow consumer reads nothing while 40 callers arrive (hundreds of events).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !esl.is_connected() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for n in 0..40 {
        sim.place_call(CallSpec {
            from_number: format!("+1555{n:04}"),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    }
    // The reader kept going: the switch still answers, and all 40 callers are there.
    let rows = esl.api("show channels as json").await.unwrap();
    assert!(
        rows.contains("\"row_count\":40"),
        "{}",
        &rows[..rows.len().min(200)]
    );
    let mut shed = 0;
    loop {
        match slow.try_recv() {
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => shed += n,
            Err(_) => break,
            Ok(_) => {}
        }
    }
    assert!(shed > 0, "the slow consumer was never told it lagged");
    esl.shutdown();
}

/// A gate that a test opens and shuts.
struct Switch(std::sync::atomic::AtomicBool);

impl switchdesk::esl::Gate for Switch {
    fn is_open(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// While the connection's gate is shut no command leaves (the switch never sees it and the
/// caller hears `Fenced`); the session itself (login, subscription, events) goes on.
#[tokio::test]
async fn a_shut_gate_lets_no_command_leave() {
    let sim = simulator(SimConfig::default()).await;
    let (conn, mut events) =
        Connection::spawn_with_subscriber(options(sim.addr().to_string(), "ClueCon"));
    let gate = Arc::new(Switch(std::sync::atomic::AtomicBool::new(false)));
    conn.set_gate(gate.clone());
    wait_for(&mut events, connected).await;
    assert_eq!(conn.api("status").await, Err(ConnectionError::Fenced));
    assert!(matches!(
        conn.bgapi("status").await,
        Err(ConnectionError::Fenced)
    ));
    let logged = |sim: &Simulator| {
        sim.commands_received()
            .into_iter()
            .filter(|c| !c.starts_with("auth") && !c.starts_with("event"))
            .collect::<Vec<_>>()
    };
    assert_eq!(logged(&sim), Vec::<String>::new());
    gate.0.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(conn.api("status").await.unwrap().contains("is ready"));
    assert_eq!(logged(&sim), vec!["api status".to_owned()]);
    conn.shutdown();
}
