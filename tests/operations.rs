//! What operations watches: `/metrics` and `/api/status` of the whole service
//! (`service::run_supervised`) on the simulated switch. Every documented family is exported
//! from the start, with the configured queue's, agent's and node's series at zero; a caller who
//! waits and is answered moves the queue's gauges and counters. The status page's view of the
//! node carries its address, since when it is connected, the switch's version and uptime, the
//! last heartbeat, reconnects and the event rate. The example Grafana dashboard only queries
//! series the service exports. An admin removing a queue still in use moves its callers,
//! agents and overflows to another queue first.

mod common;

use common::service::{agent, eventually, Service};

use std::time::Duration;

use serde_json::Value;
use switchdesk::acd::{AgentStatus, QueueConfig};
use switchdesk::config::Config;
use switchdesk::metrics::{self, DOCUMENTED};
use switchdesk::sim::{CallSpec, Simulator};
use switchdesk::users::{self, Role};

/// `support` with a 10-minute service level threshold, so the answered call counts in it.
fn queue() -> QueueConfig {
    let mut q = common::service::queue();
    q.service_level_secs = 600;
    q
}

fn config(db: &common::TestDb, sim: &Simulator, spool: &std::path::Path) -> Config {
    let mut config = common::service::config(db, sim, spool);
    config.queues = vec![queue()];
    config
}

/// The API as a scraper or a script reaches it: the service's address and an API token.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn of(service: &Service, token: String) -> Api {
        Api {
            base: service.base.clone(),
            token,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response
    }

    async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    async fn status(&self) -> Value {
        self.get("/api/status").await.json().await.unwrap()
    }
}

/// The value of the series written exactly as `series` (name and labels) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_the_node_status_are_there_from_the_start_and_follow_the_calls() {
    let db = common::TestDb::sqlite().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = common::service::simulator(21, Duration::from_millis(500)).await;
    let config = config(&db, &sim, spool.path());
    db.store.seed_agent(&agent()).await.unwrap();
    db.store
        .save_agent_state("agent1", &AgentStatus::OnBreak("lunch".into()), 0, 0)
        .await
        .unwrap();
    let token = users::add_api_token(&db.store, "prometheus", Role::Supervisor)
        .await
        .unwrap();
    let running = Service::start(config).await;
    let service = Api::of(&running, token);

    // Right after the start: every documented family, and the known series at zero.
    let text = service.metrics().await;
    for (name, _, kind) in DOCUMENTED {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} missing from\n{text}"
        );
    }
    for (series, expected) in [
        ("switchdesk_queue_waiting{queue=\"support\"}", 0.0),
        (
            "switchdesk_queue_longest_wait_seconds{queue=\"support\"}",
            0.0,
        ),
        ("switchdesk_queue_service_level{queue=\"support\"}", 0.0),
        (
            "switchdesk_queue_agents{queue=\"support\",state=\"on_break\"}",
            1.0,
        ),
        (
            "switchdesk_queue_agents{queue=\"support\",state=\"available\"}",
            0.0,
        ),
        (
            "switchdesk_queue_agents{queue=\"support\",state=\"in_call\"}",
            0.0,
        ),
        (
            "switchdesk_queue_calls_total{outcome=\"offered\",queue=\"support\"}",
            0.0,
        ),
        (
            "switchdesk_queue_calls_total{outcome=\"answered\",queue=\"support\"}",
            0.0,
        ),
        (
            "switchdesk_queue_calls_total{outcome=\"abandoned\",queue=\"support\"}",
            0.0,
        ),
        ("switchdesk_agent_calls_total{agent=\"agent1\"}", 0.0),
        ("switchdesk_agent_talk_seconds_total{agent=\"agent1\"}", 0.0),
        ("switchdesk_esl_reconnects_total{node=\"fs1\"}", 0.0),
        ("switchdesk_esl_events_total{event=\"CHANNEL_PARK\"}", 0.0),
        ("switchdesk_esl_events_shed_total", 0.0),
        (
            "switchdesk_switchboard_lagged_total{node=\"fs1\",queue=\"inbox\"}",
            0.0,
        ),
        ("switchdesk_cdr_received_total{result=\"stored\"}", 0.0),
        ("switchdesk_task_restarts_total{task=\"cdr-writer\"}", 0.0),
    ] {
        assert_eq!(value(&text, series), Some(expected), "{series} in\n{text}");
    }

    // The node as the status page shows it, once the switch has sent a heartbeat.
    let node = eventually("a heartbeat on the status page", async || {
        let status = service.status().await;
        let node = status["esl"]["nodes"][0].clone();
        (node["connected"] == true && node["last_heartbeat"].is_i64()).then_some(node)
    })
    .await;
    assert_eq!(node["node"], "fs1");
    assert_eq!(node["address"], sim.addr().to_string());
    assert!(node["connected_since"].as_i64().unwrap() > 0, "{node}");
    assert!(
        node["last_heartbeat"].as_i64() >= node["connected_since"].as_i64(),
        "{node}"
    );
    assert_eq!(node["version"], "1.10.12-release~64bit");
    assert!(node["uptime_ms"].is_u64(), "{node}");
    assert!(node["uptime"].as_str().unwrap().contains("years"), "{node}");
    assert_eq!(node["reconnects"], 0);
    assert!(node["events"].as_u64().unwrap() > 0, "{node}");
    assert!(node["events_per_second"].is_number(), "{node}");
    eventually("heartbeats to show in the event rate", async || {
        let status = service.status().await;
        (status["esl"]["nodes"][0]["events_per_second"].as_f64()? > 0.0).then_some(())
    })
    .await;

    // A caller waits: nobody is available.
    sim.place_call(CallSpec {
        from_number: "+12125550101".into(),
        from_name: "Jane Doe".into(),
        destination: "7000".into(),
        talk: Some(Duration::from_secs(2)),
        ..CallSpec::default()
    })
    .await
    .unwrap();
    let text = eventually("the caller to wait a second", async || {
        let text = service.metrics().await;
        let waited = value(
            &text,
            "switchdesk_queue_longest_wait_seconds{queue=\"support\"}",
        )?;
        (waited >= 1.0).then_some(text)
    })
    .await;
    assert_eq!(
        value(&text, "switchdesk_queue_waiting{queue=\"support\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "switchdesk_queue_calls_total{outcome=\"offered\",queue=\"support\"}"
        ),
        Some(1.0)
    );

    // The agent comes back and answers.
    let back = service
        .http
        .post(format!("{}/api/agents/agent1/status", service.base))
        .bearer_auth(&service.token)
        .json(&serde_json::json!({"status": "available"}))
        .send()
        .await
        .unwrap();
    assert!(back.status().is_success(), "{}", back.status());
    let text = eventually("the call answered and ended", async || {
        let text = service.metrics().await;
        let ended = value(
            &text,
            "switchdesk_queue_agents{queue=\"support\",state=\"available\"}",
        )?;
        let answered = value(
            &text,
            "switchdesk_queue_calls_total{outcome=\"answered\",queue=\"support\"}",
        )?;
        (ended == 1.0 && answered == 1.0).then_some(text)
    })
    .await;
    for (series, expected) in [
        ("switchdesk_queue_waiting{queue=\"support\"}", 0.0),
        (
            "switchdesk_queue_longest_wait_seconds{queue=\"support\"}",
            0.0,
        ),
        ("switchdesk_queue_service_level{queue=\"support\"}", 1.0),
        (
            "switchdesk_queue_agents{queue=\"support\",state=\"on_break\"}",
            0.0,
        ),
        ("switchdesk_agent_calls_total{agent=\"agent1\"}", 1.0),
    ] {
        assert_eq!(value(&text, series), Some(expected), "{series} in\n{text}");
    }
    assert!(
        value(
            &text,
            "switchdesk_agent_talk_seconds_total{agent=\"agent1\"}"
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        value(&text, "switchdesk_esl_events_total{event=\"CHANNEL_PARK\"}") >= Some(1.0),
        "{text}"
    );

    running.stop().await;
    sim.shutdown();
}

/// The metric names in a PromQL expression: `switchdesk_` words.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("switchdesk_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

fn exprs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "definition", Value::String(expr)) => out.push(expr.clone()),
                    ("query", Value::String(expr)) => out.push(expr.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn the_grafana_dashboard_queries_only_exported_series() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/grafana-switchdesk.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource"));
    let mut found = Vec::new();
    exprs(&dashboard["panels"], &mut found);
    exprs(&dashboard["templating"], &mut found);
    let used: Vec<String> = found.iter().flat_map(|e| metric_names(e)).collect();
    assert!(used.len() >= 10, "{found:?}");
    let exported: Vec<&str> = DOCUMENTED.iter().map(|(name, _, _)| *name).collect();
    for name in &used {
        assert!(exported.contains(&name.as_str()), "{name} is not exported");
    }
    // The panels the wallboard needs.
    for wanted in [
        metrics::QUEUE_WAITING,
        metrics::QUEUE_LONGEST_WAIT_SECONDS,
        metrics::QUEUE_AGENTS,
        metrics::QUEUE_SERVICE_LEVEL,
        metrics::QUEUE_CALLS_TOTAL,
        metrics::ESL_CONNECTED,
        metrics::ESL_EVENTS_TOTAL,
        metrics::ESL_EVENTS_SHED_TOTAL,
        metrics::HTTP_REQUESTS_TOTAL,
        metrics::TASK_RESTARTS_TOTAL,
    ] {
        assert!(used.iter().any(|n| n == wanted), "no panel shows {wanted}");
    }
}

#[test]
fn the_readme_lists_every_exported_family() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (name, _, _) in DOCUMENTED {
        assert!(
            readme.contains(&format!("`{name}")),
            "README does not list {name}"
        );
    }
}

/// Before the switch's first heartbeat, its version and uptime come from one `api status`
/// sent after the connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_status_shows_the_version_before_any_heartbeat() {
    let db = common::TestDb::sqlite().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = common::service::simulator(22, Duration::from_secs(3600)).await;
    let token = users::add_api_token(&db.store, "prometheus", Role::Supervisor)
        .await
        .unwrap();
    let running = Service::start(config(&db, &sim, spool.path())).await;
    let service = Api::of(&running, token);
    let node = eventually("the version on the status page", async || {
        let response = service
            .http
            .get(format!("{}/api/status", service.base))
            .bearer_auth(&service.token)
            .send()
            .await
            .ok()?;
        let status: Value = response.json().await.ok()?;
        let node = status["esl"]["nodes"][0].clone();
        node["version"].is_string().then_some(node)
    })
    .await;
    assert_eq!(node["version"], "1.10.12-release 64bit", "{node}");
    assert!(node["uptime_ms"].is_u64(), "{node}");
    assert!(node["last_heartbeat"].is_null(), "{node}");
    assert!(sim.commands_received().contains(&"api status".to_owned()));
    running.stop().await;
    sim.shutdown();
}

/// An admin removes a queue still in use: refused (409) as it is; with `move_to`, its waiting
/// caller, its agent and the queue overflowing to it are sent to the other queue first, each
/// change in the audit log, and the queue is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_in_use_is_removed_only_after_moving_its_callers_agents_and_overflows() {
    let db = common::TestDb::sqlite().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = common::service::simulator(22, Duration::from_secs(20)).await;
    let mut vip = QueueConfig::named("vip");
    vip.max_wait_secs = 600;
    vip.overflow = switchdesk::acd::Overflow::Queue("support".into());
    let mut config = config(&db, &sim, spool.path());
    config.queues.extend([QueueConfig::named("sales"), vip]);
    db.store.seed_agent(&agent()).await.unwrap();
    // On a break: the caller waits.
    db.store
        .save_agent_state("agent1", &AgentStatus::OnBreak("lunch".into()), 0, 0)
        .await
        .unwrap();
    let token = users::add_api_token(&db.store, "ops", Role::Admin)
        .await
        .unwrap();
    let running = Service::start(config).await;
    let service = Api::of(&running, token);
    let caller = sim
        .place_call(CallSpec {
            from_number: "+15550001".into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    let waiting_in = async |queue: &str| -> Vec<String> {
        let queues: Value = service.get("/api/queues").await.json().await.unwrap();
        queues
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["name"] == queue)
            .flat_map(|q| q["waiting"].as_array().unwrap().clone())
            .map(|w| w["call"].as_str().unwrap().to_owned())
            .collect()
    };
    eventually("the caller to wait in support", async || {
        (waiting_in("support").await == [caller.clone()]).then_some(())
    })
    .await;
    let delete = async |query: &str| {
        service
            .http
            .delete(format!("{}/api/queues/support{query}", service.base))
            .bearer_auth(&service.token)
            .send()
            .await
            .unwrap()
    };

    let refused = delete("").await;
    assert_eq!(refused.status(), reqwest::StatusCode::CONFLICT);
    let refused = delete("?move_to=support").await;
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused = delete("?move_to=nowhere").await;
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(waiting_in("support").await, std::slice::from_ref(&caller));

    let removed = delete("?move_to=sales").await;
    assert_eq!(removed.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(waiting_in("sales").await, std::slice::from_ref(&caller));
    let queues: Value = service.get("/api/queues").await.json().await.unwrap();
    let names: Vec<&str> = queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"support"), "{names:?}");
    let members: Vec<Value> = queues
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["name"] == "sales")
        .flat_map(|q| q["agents"].as_array().unwrap().clone())
        .collect();
    assert_eq!(members.len(), 1, "{queues}");
    assert_eq!(members[0]["name"], "agent1");
    let vip: Value = service
        .get("/api/queues/vip/settings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(vip["overflow"]["target"], "sales", "{vip}");
    // Stored, so a restart finds the same: the agent's membership and vip's overflow.
    let stored = db.store.agents().await.unwrap();
    assert_eq!(stored[0].config.queues[0].queue, "sales");
    let audit: Value = service.get("/api/audit").await.json().await.unwrap();
    let rows: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("action"), text("target"))
        })
        .collect();
    for expected in [
        ("queue", "delete", "support"),
        ("agent", "update", "agent1"),
        ("queue", "update", "vip"),
    ] {
        let expected = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(rows.contains(&expected), "{expected:?} not in {rows:?}");
    }
    running.stop().await;
    sim.shutdown();
}
