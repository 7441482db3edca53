//! Nothing stops silently: the whole service (`service::run_supervised`) on the simulated
//! switch, each long-lived task driven into a panic through the supervisor's fault hook.
//! `/healthz` answers 503 naming the task while it is down, the restart is counted, and the
//! task comes back and does its job again (a CDR is stored, a call is routed, the agent's
//! state is written). The switchboard's engine, which cannot be rebuilt inside the process,
//! takes the exit path instead.

mod captures;
mod common;

use common::service::{agent, eventually, Service};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchdesk::acd::AgentStatus;
use switchdesk::config::Secret;
use switchdesk::metrics::{Metrics, TASK_RESTARTS_TOTAL};
use switchdesk::sim::{CallSpec, Simulator};
use switchdesk::supervise::{ExitHook, TaskState, Tasks};
use switchdesk::users::{self, Role};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::COOKIE;
use tokio_tungstenite::tungstenite::Message;

const CDR_PASSWORD: &str = "supervision-cdr-password";
const PASSWORD: &str = "long-enough-password";

/// Every task the service supervises, with `fs1` the simulated switch's node.
const EXPECTED: &[&str] = &[
    "cdr-writer",
    "esl-connection:fs1",
    "esl-metrics:fs1",
    "fax-watcher:fs1",
    "incident-timers",
    "live-hub",
    "outbox",
    "phonebook-catch-up",
    "sla-watcher",
    "stats-recorder",
    "switchboard",
    "switchboard-events:fs1",
    "switchboard-executor:fs1",
    "switchboard-writer",
    "webhook",
];

async fn health(base: &str) -> Option<(StatusCode, Value)> {
    let response = reqwest::get(format!("{base}/healthz")).await.ok()?;
    let status = response.status();
    Some((status, response.json().await.ok()?))
}

/// A captured CDR as mod_xml_cdr posts it: Content-Type and body.
fn captured_cdr() -> (String, Vec<u8>) {
    captures::cdr_post("post_001_02_call_caller_aleg")
}

/// The first frame on the live feed that `wanted` accepts.
async fn frame(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a frame within 20 s")
            .expect("the feed stays open")
            .expect("a good frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if wanted(&frame) {
                return frame;
            }
        }
    }
}

/// How often the switch was asked for its channel list (a resync).
fn channel_lists(sim: &Simulator) -> usize {
    sim.commands_received()
        .iter()
        .filter(|c| *c == "api show channels as json")
        .count()
}

async fn post_cdr(base: String) -> StatusCode {
    let (content_type, body) = captured_cdr();
    reqwest::Client::new()
        .post(format!("{base}/api/cdr"))
        .basic_auth("freeswitch", Some(CDR_PASSWORD))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_is_restarted_after_a_panic_and_healthz_names_it_meanwhile() {
    let db = common::TestDb::sqlite().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = common::service::simulator(13, Duration::from_secs(1)).await;
    let mut config = common::service::config(&db, &sim, spool.path());
    config.cdr.password = Secret::new(CDR_PASSWORD);
    // Nothing listens there; the worker only has to run.
    config.webhook.url = "http://127.0.0.1:9/hook".into();
    db.store.seed_agent(&agent()).await.unwrap();
    users::add_user(&db.store, "sue", Role::Supervisor, PASSWORD)
        .await
        .unwrap();
    db.store
        .save_agent_state("agent1", &AgentStatus::Available, 0, 0)
        .await
        .unwrap();

    let exits = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = exits.clone();
    let hook: ExitHook = Arc::new(move |task: &str| seen.lock().unwrap().push(task.to_owned()));
    let tasks = Tasks::with_exit_hook(Metrics::new(), hook);
    let service = Service::start_with(config, tasks.clone()).await;
    let base = service.base.clone();
    let mut names = tasks.names();
    names.sort();
    assert_eq!(names, EXPECTED);

    for task in EXPECTED.iter().filter(|t| **t != "switchboard") {
        let fault = tasks.inject_panic(task).unwrap();
        let body = eventually(&format!("/healthz to name {task}"), async || {
            let (status, body) = health(&base).await?;
            (status == StatusCode::SERVICE_UNAVAILABLE).then_some(body)
        })
        .await;
        assert_eq!(body["status"], "unavailable");
        assert_eq!(
            body["tasks"],
            json!([{"task": task, "state": "restarting"}])
        );
        assert!(body["error"].as_str().unwrap().contains(task), "{body}");
        let restarts = tasks.metrics().get(TASK_RESTARTS_TOTAL, &[("task", task)]);
        assert_eq!(restarts, Some(1.0), "{task}");
        // A CDR posted while the writer is down waits in its queue, which survived the
        // panic, and is stored by the restarted writer.
        let posted = (*task == "cdr-writer").then(|| tokio::spawn(post_cdr(base.clone())));
        // The event socket's reconnect loop: its session ended with it.
        let resyncs = (*task == "esl-connection:fs1").then(|| channel_lists(&sim));
        drop(fault);
        eventually(&format!("{task} to come back"), async || {
            let (status, _) = health(&base).await?;
            (status == StatusCode::OK && tasks.state(task) == Some(TaskState::Running))
                .then_some(())
        })
        .await;
        if let Some(posted) = posted {
            assert_eq!(posted.await.unwrap(), StatusCode::OK);
        }
        // The restarted loop connects again, and the switchboard reads the node again.
        if let Some(before) = resyncs {
            eventually("the switch asked for its channels again", async || {
                (channel_lists(&sim) > before).then_some(())
            })
            .await;
        }
    }
    let stored = db
        .store
        .calls(&switchdesk::store::CallFilter::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "the CDR posted while the writer was down");

    // The restarted live hub sends frames again; the switchboard's forwarder and executor
    // route a call again over the reconnected event socket, and the writer stores the
    // agent's count.
    let login = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"name": "sue", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap();
    let mut request = format!("{}/ws?feed=wallboard", base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert(COOKIE, cookie.parse().unwrap());
    let (mut wallboard, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    // Subscribed once the snapshot is sent: nothing after it is missed.
    frame(&mut wallboard, |f| f["type"] == "snapshot").await;
    let caller = sim
        .place_call(CallSpec {
            from_number: "+12125550101".into(),
            from_name: "Jane Doe".into(),
            destination: "7000".into(),
            talk: Some(Duration::from_secs(2)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let joined = frame(&mut wallboard, |f| {
        f["type"] == "update" && f["update"]["update"] == "caller_joined"
    })
    .await;
    assert_eq!(joined["update"]["id"], caller.as_str());
    eventually("the caller bridged to the agent", async || {
        let channels = sim.channels().await.ok()?;
        channels
            .iter()
            .any(|c| c.uuid == caller && c.bridged_to.is_some())
            .then_some(())
    })
    .await;
    eventually("the agent's call stored", async || {
        let agents = db.store.agent_rows().await.ok()?;
        agents
            .into_iter()
            .flatten()
            .any(|a| a.config.name == "agent1" && a.calls >= 1)
            .then_some(())
    })
    .await;

    // The engine's state cannot be rebuilt: its panic takes the exit path.
    let _fault = tasks.inject_panic("switchboard").unwrap();
    eventually("the exit hook", async || {
        (!exits.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    assert_eq!(*exits.lock().unwrap(), vec!["switchboard".to_owned()]);
    let (status, body) = health(&base).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["tasks"],
        json!([{"task": "switchboard", "state": "ended"}])
    );
    // Exported at zero from the start; an exit is no restart.
    assert_eq!(
        tasks
            .metrics()
            .get(TASK_RESTARTS_TOTAL, &[("task", "switchboard")]),
        Some(0.0)
    );

    service.stop().await;
    sim.shutdown();
}
