//! An incident seen from the phone: the whole service (`service::run`) on the simulated
//! FreeSWITCH, a Zabbix alarm about Acme's server posted to `POST /api/alarms`, then Jane of
//! Acme calls. Her agent's pop-up shows the incident first, and her call joins the incident's
//! ticket instead of opening one of its own; waiting in a queue, she hears the incident notice
//! once before her position; once the incident is resolved, her next call opens a ticket as
//! usual.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use switchdesk::acd::{AgentConfig, AgentStatus, Membership, QueueConfig};
use switchdesk::config::{Config, EslConfig, Secret};
use switchdesk::directory::model::{Asset, Contact, Number, NumberKind, Organization, Owner};
use switchdesk::esl::{Connection, ConnectionEvent, Event};
use switchdesk::sim::{AgentBehaviour, CallSpec, CdrTarget, Route, SimConfig, Simulator};
use switchdesk::tickets::TicketKind;
use switchdesk::users::{self, Role};
use tokio::net::TcpListener;

const CDR_PASSWORD: &str = "incident-cdr-password";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/alarms/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every CHANNEL_EXECUTE the switch sends, as the tests of the queue read them.
fn watch_executed(sim: &Simulator) -> Arc<Mutex<Vec<Arc<Event>>>> {
    let config = EslConfig {
        host: "127.0.0.1".into(),
        port: sim.addr().port(),
        ..EslConfig::default()
    };
    let mut options = config.connection_options("watch");
    options.events = vec!["CHANNEL_EXECUTE".to_owned()];
    let (connection, mut received) = Connection::spawn_with_subscriber(options);
    let seen = Arc::new(Mutex::new(Vec::new()));
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

/// The applications FreeSWITCH ran on `call`, as `app arg`.
fn ran_on(events: &Mutex<Vec<Arc<Event>>>, call: &str) -> Vec<String> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organizations_calls_join_its_incident_and_the_popup_shows_it_first() {
    let db = common::TestDb::sqlite().await;
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", web.local_addr().unwrap());
    let spool = tempfile::tempdir().unwrap();
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            seed: 19,
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

    let executed = watch_executed(&sim);
    let mut config = Config::default();
    config.database.url = Secret::new(db.url.clone());
    config.esl.host = "127.0.0.1".into();
    config.esl.port = sim.addr().port();
    config.cdr.password = Secret::new(CDR_PASSWORD);
    config.fax.spool_dir = spool.path().to_path_buf();
    let mut queue = QueueConfig::named("support");
    queue.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1".parse().unwrap();
    queue.wrap_up_secs = 0;
    let mut sales = queue.clone();
    sales.name = "sales".into();
    config.queues = vec![queue, sales];
    config.agents = vec![AgentConfig {
        name: "agent1".into(),
        endpoint: "user/1001@default".parse().unwrap(),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1,
            position: 1,
        }],
    }];
    let store = db.store.clone();
    for agent in &config.agents {
        store.seed_agent(agent).await.unwrap();
        store
            .save_agent_state(&agent.name, &AgentStatus::Available, 0, 0)
            .await
            .unwrap();
    }
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
    store
        .save_record(&Asset {
            name: "srv-db-01".into(),
            owner: Owner::Organization(acme),
            ..Asset::default()
        })
        .await
        .unwrap();
    let monitoring = users::add_api_token(&store, "zabbix", Role::Supervisor)
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchdesk::service::run(config, web, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    wait_for("a healthy service", async || {
        let response = http.get(format!("{base}/healthz")).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;

    // Zabbix tells of a problem on Acme's database server.
    let posted: Value = http
        .post(format!("{base}/api/alarms"))
        .bearer_auth(&monitoring)
        .json(&fixture("zabbix_problem.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["received"][0]["outcome"], "opened", "{posted}");
    let incident_id = posted["received"][0]["incident"].as_i64().unwrap();
    let incident = store.incident(incident_id).await.unwrap().unwrap();
    assert_eq!(incident.organization_id, Some(acme));

    // Jane calls; while she talks to agent1, the pop-up leads with the incident.
    let call = sim
        .place_call(CallSpec {
            from_number: "+12125550101".into(),
            from_name: "Jane Doe".into(),
            destination: "7000".into(),
            talk: Some(Duration::from_secs(3)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let popup: Value = wait_for("agent1's pop-up", async || {
        let response = http
            .get(format!("{base}/api/agents/agent1/popup"))
            .bearer_auth(&monitoring)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let popup: Value = response.json().await.ok()?;
        (popup["call"] == call.as_str()).then_some(popup)
    })
    .await;
    assert_eq!(popup["incidents"][0]["id"], incident_id, "{popup}");
    assert_eq!(
        popup["incidents"][0]["title"],
        "High CPU utilization (over 90% for 5m)"
    );
    assert_eq!(popup["organization"]["name"], "Acme Ltd");

    // Her call is filed into the incident's ticket.
    let filed = wait_for("Jane's call filed", async || {
        store.call(&call).await.unwrap()?.ticket_id
    })
    .await;
    assert_eq!(filed, incident.ticket_id);
    let ticket = store.ticket(filed).await.unwrap().unwrap();
    assert_eq!(ticket.kind, TicketKind::Incident);
    // Answering her is not taking the incident.
    assert_eq!(ticket.assignee, None);
    assert!(ticket.last_call_at.is_some());

    // She calls sales, where nobody answers: before her place in the queue she hears, once,
    // that the problem is known; she gives up, and that call joins the incident too.
    let waited = sim
        .place_call(CallSpec {
            from_number: "+12125550101".into(),
            from_name: "Jane Doe".into(),
            destination: "7001".into(),
            patience: Some(Duration::from_millis(1500)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let abandoned = wait_for("Jane's abandoned call filed", async || {
        store.call(&waited).await.unwrap()?.ticket_id
    })
    .await;
    assert_eq!(abandoned, incident.ticket_id);
    let heard = ran_on(&executed, &waited);
    let notices: Vec<&String> = heard
        .iter()
        .filter(|ran| ran.contains("incident_notice.wav"))
        .collect();
    assert_eq!(notices.len(), 1, "{heard:#?}");
    assert_eq!(notices[0], "playback switchdesk/incident_notice.wav");
    // Before her place in the queue.
    let notice_at = heard
        .iter()
        .position(|ran| ran.contains("incident_notice"))
        .unwrap();
    let place_at = heard
        .iter()
        .position(|ran| ran.starts_with("say "))
        .unwrap();
    assert!(notice_at < place_at, "{heard:#?}");

    // Zabbix's recovery closes it; her next call opens a ticket of its own.
    let recovered: Value = http
        .post(format!("{base}/api/alarms"))
        .bearer_auth(&monitoring)
        .json(&fixture("zabbix_recovery.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        recovered["received"][0]["outcome"], "resolved",
        "{recovered}"
    );
    let next = sim
        .place_call(CallSpec {
            from_number: "+12125550101".into(),
            from_name: "Jane Doe".into(),
            destination: "7000".into(),
            talk: Some(Duration::from_millis(500)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let own = wait_for("Jane's next call filed", async || {
        store.call(&next).await.unwrap()?.ticket_id
    })
    .await;
    assert_ne!(own, incident.ticket_id);
    assert_eq!(
        store.ticket(own).await.unwrap().unwrap().kind,
        TicketKind::Call
    );
    let _ = stop.send(());
    sim.shutdown();
}
