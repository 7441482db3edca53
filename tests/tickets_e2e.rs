//! The ticket rules end to end: the whole service (`service::run`) drives the simulated
//! FreeSWITCH over ESL, the simulator posts every leg's CDR to `POST /api/cdr` as mod_xml_cdr
//! does, and the tickets that come out are read back from the database. Scenario by
//! scenario: an answered call, a repeat call, an abandoned unknown caller, a voicemail, a fax.

mod captures;
mod common;

use std::path::PathBuf;
use std::time::Duration;

use switchdesk::acd::{AgentConfig, AgentStatus, Membership, QueueConfig};
use switchdesk::cdr::{CallKind, Outcome};
use switchdesk::config::{Config, Secret};
use switchdesk::directory::model::{Contact, Number, NumberKind, Organization};
use switchdesk::sim::{AgentBehaviour, CallSpec, CdrTarget, FaxSpec, Route, SimConfig, Simulator};
use switchdesk::store::{CallFilter, Store, TicketFilter};
use switchdesk::tickets::{Status, Ticket, TicketKind};
use tokio::net::TcpListener;

const CDR_PASSWORD: &str = "e2e-cdr-password";

struct Running {
    sim: Simulator,
    store: Store,
    /// The service's HTTP address.
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _fax_dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sim.shutdown();
    }
}

fn queue(name: &str) -> QueueConfig {
    let mut q = QueueConfig::named(name);
    q.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    q.wrap_up_secs = 0;
    q.ring_timeout_secs = 5;
    q.exit_key = Some('0');
    q.exit_extension = Some("voicemail".parse().unwrap());
    q
}

fn captured_fax() -> PathBuf {
    captures::freeswitch().join("fax/rx.tif")
}

/// The service on `db`, a simulated switch whose CDRs go to it, agent1 on duty in `support`
/// (answering after 100 ms), nobody in `sales`, and Jane Doe of Acme Ltd in the phone book.
async fn start(db: &common::TestDb) -> Running {
    start_with(db, |_| {}).await
}

/// As [`start`], with the configuration changed by `tweak` first.
async fn start_with(db: &common::TestDb, tweak: impl FnOnce(&mut Config)) -> Running {
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", web.local_addr().unwrap());
    let fax_dir = tempfile::tempdir().unwrap();
    let voicemail = vec![
        ("answer".to_owned(), String::new()),
        ("set".to_owned(), "switchdesk_voicemail=true".to_owned()),
        (
            "set".to_owned(),
            "switchdesk_recording=/var/lib/freeswitch/recordings/switchdesk/vm-1.wav".to_owned(),
        ),
        ("sleep".to_owned(), "300".to_owned()),
        ("hangup".to_owned(), "NORMAL_CLEARING".to_owned()),
    ];
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            seed: 5,
            heartbeat: Duration::from_secs(1),
            cdr: Some(CdrTarget {
                username: Some("freeswitch".into()),
                password: Some(CDR_PASSWORD.into()),
                retries: 5,
                retry_delay: Duration::from_millis(300),
                ..CdrTarget::new(format!("{base}/api/cdr"))
            }),
            dialplan: vec![
                Route::queue("7000", "support"),
                Route::queue("7001", "sales"),
                Route::apps("voicemail", voicemail),
                Route::fax("7200", fax_dir.path()),
            ],
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    sim.add_endpoint(
        "user/1001@default",
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: None,
        },
    )
    .await
    .unwrap();

    let mut config = Config::default();
    config.database.url = Secret::new(db.url.clone());
    config.esl.host = "127.0.0.1".into();
    config.esl.port = sim.addr().port();
    config.cdr.password = Secret::new(CDR_PASSWORD);
    config.fax.spool_dir = fax_dir.path().to_path_buf();
    config.queues = vec![queue("support"), queue("sales")];
    config.agents = vec![AgentConfig {
        name: "agent1".into(),
        endpoint: "user/1001@default".parse().unwrap(),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1,
            position: 1,
        }],
    }];
    tweak(&mut config);
    let store = db.store.clone();
    for agent in &config.agents {
        store.seed_agent(agent).await.unwrap();
        store
            .save_agent_state(&agent.name, &AgentStatus::Available, 0, 0)
            .await
            .unwrap();
    }
    store.set_agent_rate("agent1", 4_000).await.unwrap();
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

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchdesk::service::run(config, web, async {
        let _ = stopped.await;
    }));
    Running {
        sim,
        store,
        base,
        stop: Some(stop),
        _fax_dir: fax_dir,
    }
}

async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn tickets(store: &Store) -> Vec<Ticket> {
    store.tickets(&TicketFilter::default()).await.unwrap()
}

fn call(from: &str, name: &str, to: &str) -> CallSpec {
    CallSpec {
        from_number: from.into(),
        from_name: name.into(),
        destination: to.into(),
        ..CallSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_leaves_the_ticket_its_rule_says() {
    let db = common::TestDb::sqlite().await;
    let running = start(&db).await;
    let (sim, store) = (&running.sim, &running.store);

    // 1. Jane calls support; agent1 answers and they talk for a second.
    let first = sim
        .place_call(CallSpec {
            talk: Some(Duration::from_secs(1)),
            ..call("+12125550101", "Jane Doe", "7000")
        })
        .await
        .unwrap();
    wait_for("Jane's ticket and its time entry", async || {
        let call = store.call(&first).await.unwrap()?;
        let entries = store.time_entries(call.ticket_id?).await.unwrap();
        (!entries.is_empty()).then_some(())
    })
    .await;
    // Read after both legs are in: the agent leg completes the call record.
    let ticket = store.call(&first).await.unwrap().unwrap();
    assert_eq!(ticket.kind, CallKind::Queue);
    assert_eq!(ticket.outcome, Outcome::Answered);
    assert_eq!(ticket.agent.as_deref(), Some("agent1"));
    assert_eq!(ticket.queue.as_deref(), Some("support"));
    assert_eq!(ticket.identified, "exact");
    assert!(ticket.talk_secs >= 1, "{ticket:?}");
    let ticket_id = ticket.ticket_id.unwrap();
    let opened = store.ticket(ticket_id).await.unwrap().unwrap();
    assert_eq!(opened.kind, TicketKind::Call);
    assert_eq!(opened.status, Status::Open);
    assert!(opened.organization_id.is_some() && opened.contact_id.is_some());
    assert!(!opened.unidentified);
    // On line 1 in the default category; the agent's answer is the first response, due 90 s
    // after Jane called, so the ticket keeps its first-response SLA.
    assert_eq!((opened.line, opened.category.as_str()), (1, "information"));
    assert_eq!(opened.first_response_due, Some(opened.created_at + 90_000));
    assert_eq!(opened.first_response_at, ticket.answered_at);
    assert!(opened.first_response_at <= opened.first_response_due);
    let report = store
        .sla_report(opened.created_at, opened.created_at + 1, opened.created_at)
        .await
        .unwrap();
    assert_eq!(report[0].first_response_kept, 1, "{report:?}");
    let entries = store.time_entries(ticket_id).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].agent, "agent1");
    assert_eq!(entries[0].hourly_rate_cents, 4_000);
    assert!(entries[0].seconds >= 1);

    // 2. Jane calls again within the repeat window: the same ticket, now with two calls.
    let second = sim
        .place_call(CallSpec {
            talk: Some(Duration::from_millis(500)),
            ..call("+12125550101", "Jane Doe", "7000")
        })
        .await
        .unwrap();
    let again = wait_for("the repeat call filed", async || {
        store.call(&second).await.unwrap()?.ticket_id
    })
    .await;
    assert_eq!(again, ticket_id);
    let calls = store
        .calls(&CallFilter {
            ticket_id: Some(ticket_id),
            ..CallFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(calls.len(), 2);

    // 3. Somebody unknown calls sales (no agents) and gives up after a second.
    let abandoned = sim
        .place_call(CallSpec {
            patience: Some(Duration::from_secs(1)),
            ..call("+13105550199", "", "7001")
        })
        .await
        .unwrap();
    let callback = wait_for("the callback ticket", async || {
        store
            .ticket(store.call(&abandoned).await.unwrap()?.ticket_id?)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(callback.kind, TicketKind::Callback);
    assert_eq!(callback.priority, 1);
    assert!(callback.unidentified);
    assert_eq!(callback.caller_number, "+13105550199");
    assert_eq!(callback.queue.as_deref(), Some("sales"));

    // 4. Another caller presses 0 and leaves a voicemail.
    let voicemail = sim
        .place_call(CallSpec {
            dtmf: vec![(Duration::from_millis(500), '0')],
            ..call("+14155550123", "Sam Caller", "7001")
        })
        .await
        .unwrap();
    let message = wait_for("the voicemail ticket", async || {
        let call = store.call(&voicemail).await.unwrap()?;
        Some((call.clone(), store.ticket(call.ticket_id?).await.unwrap()?))
    })
    .await;
    assert_eq!(message.0.outcome, Outcome::Voicemail);
    assert_eq!(
        message.0.recording.as_deref(),
        Some("/var/lib/freeswitch/recordings/switchdesk/vm-1.wav")
    );
    assert_eq!(message.1.kind, TicketKind::Voicemail);
    assert!(
        message.1.subject.contains("Sam Caller"),
        "{}",
        message.1.subject
    );

    // 5. A fax arrives on the fax DID.
    let fax = sim
        .receive_fax(FaxSpec {
            duration: Duration::from_millis(300),
            ..FaxSpec::new("+16175550177", "7200", captured_fax())
        })
        .await
        .unwrap();
    let faxed = wait_for("the fax ticket", async || {
        store
            .ticket(store.call(&fax).await.unwrap()?.ticket_id?)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(faxed.kind, TicketKind::Fax);
    assert!(faxed.subject.starts_with("Fax from"), "{}", faxed.subject);
    // The fax desk has the PDF for the ticket's reviewers.
    let record = wait_for("the fax's PDF", async || {
        store
            .fax_of_call(&fax)
            .await
            .unwrap()
            .filter(|f| f.pdf_file_id.is_some())
    })
    .await;
    assert_eq!(record.pages, 2);

    // Nothing else made a ticket, and nothing made one twice.
    assert_eq!(tickets(store).await.len(), 4);
}

/// Line 2 calls back from `support`: an abandoned caller's ticket escalated there has the
/// caller called back from that queue (its agent rings, then the customer is dialled), and
/// the callback is stored in that queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_abandoned_callers_ticket_is_called_back_from_the_lines_queue() {
    let db = common::TestDb::sqlite().await;
    let running = start_with(&db, |config| {
        config.tickets.line_queues = [String::new(), "support".into(), String::new()];
        for queue in &mut config.queues {
            queue.callbacks.dial = "user/{number}@default".parse().unwrap();
        }
    })
    .await;
    let (sim, store) = (&running.sim, &running.store);
    let token =
        switchdesk::users::add_api_token(store, "lead", switchdesk::users::Role::Supervisor)
            .await
            .unwrap();
    let customer = "+13105550177";
    sim.add_endpoint(
        &format!("user/{customer}@default"),
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: Some(Duration::from_millis(300)),
        },
    )
    .await
    .unwrap();
    // Nobody answers in sales: the caller gives up, a callback ticket opens on line 1.
    let abandoned = sim
        .place_call(CallSpec {
            patience: Some(Duration::from_secs(1)),
            ..call(customer, "", "7001")
        })
        .await
        .unwrap();
    let ticket = wait_for("the callback ticket", async || {
        store
            .ticket(store.call(&abandoned).await.unwrap()?.ticket_id?)
            .await
            .unwrap()
    })
    .await;
    assert_eq!((ticket.kind, ticket.line), (TicketKind::Callback, 1));

    let escalate = async |reason: &str| -> serde_json::Value {
        reqwest::Client::new()
            .post(format!(
                "{}/api/tickets/{}/escalate",
                running.base, ticket.id
            ))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "reason": reason }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let escalated = escalate("needs the network team").await;
    assert_eq!(escalated["line"], 2, "{escalated}");
    assert_eq!(
        escalated["line_callback"]["outcome"], "queued",
        "{escalated}"
    );
    assert_eq!(
        escalated["line_callback"]["queue"], "support",
        "{escalated}"
    );
    // agent1 of support is rung, answers, and the customer is dialled and connected.
    let dialled = wait_for("the customer dialled from support", async || {
        sim.commands_received()
            .into_iter()
            .find(|c| c.contains("originate") && c.contains(&format!("user/{customer}@default")))
    })
    .await;
    assert!(dialled.contains("support"), "{dialled}");
    let id = escalated["line_callback"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("the callback reached and stored in support", async || {
        let (queue, state) = store.callback_state(&id).await.unwrap()?;
        (queue == "support" && state == "reached").then_some(())
    })
    .await;
    // A second escalation to line 3, which has no queue: nothing more is placed.
    let again = escalate("vendor").await;
    assert_eq!(again["line"], 3, "{again}");
    assert!(again["line_callback"].is_null(), "{again}");
}
