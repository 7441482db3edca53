//! Statistics through the whole service (`service::run_supervised`) on the simulated switch:
//! calls answered and abandoned are stored in intervals, `GET /api/reports/queues` and
//! `/api/reports/agents` give their figures (JSON and CSV), a restarted service on the same
//! SQLite file still shows the day's counters, and counters from before the day's start are
//! not today's.

mod common;

use common::service::{agent, eventually, queue, Service};

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchdesk::acd::stats::{Counters, PromisedWait};
use switchdesk::acd::AgentStatus;
use switchdesk::clock::Millis;
use switchdesk::config::{Config, Secret};
use switchdesk::sim::{CallSpec, Simulator};
use switchdesk::stats::{Deltas, QueueInterval, WaitingTime};
use switchdesk::users::{self, Role};

const PASSWORD: &str = "long-enough-password";

async fn simulator() -> Simulator {
    common::service::simulator(21, Duration::from_secs(1)).await
}

fn config(db: &common::TestDb, sim: &Simulator, spool: &std::path::Path) -> Config {
    let mut config = common::service::config(db, sim, spool);
    config.cdr.password = Secret::new("stats-cdr-password");
    config.stats.short_abandon_secs = 5;
    config.stats.timezone = Some("Europe/Moscow".parse().unwrap());
    config
}

impl Service {
    async fn login(&self, name: &str) -> String {
        let login = reqwest::Client::new()
            .post(format!("{}/api/login", self.base))
            .json(&json!({"name": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(login.status().is_success());
        let cookie = login.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str, cookie: &str) -> Value {
        let response = self.get(path, cookie).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    /// The `support` queue's counters as `GET /api/queues` shows them.
    async fn counters(&self, cookie: &str) -> Value {
        let queues = self.json("/api/queues", cookie).await;
        queues
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == "support")
            .expect("the support queue")["counters"]
            .clone()
    }
}

async fn prepared_db() -> common::TestDb {
    let db = common::TestDb::sqlite().await;
    db.store.seed_queue(&queue()).await.unwrap();
    db.store.seed_agent(&agent()).await.unwrap();
    db.store
        .save_agent_state("agent1", &AgentStatus::Available, 0, 0)
        .await
        .unwrap();
    users::add_user(&db.store, "mia", Role::Manager, PASSWORD)
        .await
        .unwrap();
    users::add_user(&db.store, "al", Role::Agent, PASSWORD)
        .await
        .unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_reported_by_interval_and_todays_counters_survive_a_restart() {
    let db = prepared_db().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    let service = Service::start(config(&db, &sim, spool.path())).await;
    let mia = service.login("mia").await;

    // One caller talks three seconds; one who calls meanwhile hangs up after one second
    // (a short abandon: under five).
    let talker = sim
        .place_call(CallSpec {
            from_number: "+12125550101".into(),
            from_name: "Jane Doe".into(),
            destination: "7000".into(),
            talk: Some(Duration::from_secs(3)),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    eventually("the first caller bridged", async || {
        let channels = sim.channels().await.ok()?;
        channels
            .iter()
            .any(|c| c.uuid == talker && c.bridged_to.is_some())
            .then_some(())
    })
    .await;
    sim.place_call(CallSpec {
        from_number: "+12125550102".into(),
        from_name: "John Roe".into(),
        destination: "7000".into(),
        patience: Some(Duration::from_secs(1)),
        ..CallSpec::default()
    })
    .await
    .unwrap();

    let report = eventually("both calls in the queue report", async || {
        let report = service.json("/api/reports/queues", &mia).await;
        let row = report["queues"].as_array()?.first()?.clone();
        (row["offered"] == 2 && row["abandoned"] == 1 && row["calls_ended"] == 1).then_some(report)
    })
    .await;
    let row = &report["queues"][0];
    assert_eq!(report["queues"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(row["queue"], "support");
    assert_eq!(row["answered"], 1);
    assert_eq!(row["short_abandoned"], 1);
    assert_eq!(row["answered_within_sl"], 1);
    assert_eq!(row["service_level"], 1.0);
    // (answered + abandoned within 20 s) / (answered + abandoned)
    assert_eq!(row["service_level_2"], 1.0);
    // The short abandon is left out of both sides: 0 / 1.
    assert_eq!(row["abandon_rate"], 0.0);
    assert!(
        row["average_handle_time_secs"].as_f64().unwrap() >= 2.0,
        "{row}"
    );
    assert!(row["from"].as_str().unwrap().ends_with("+03:00"), "{row}");

    // By 15 minutes: the same calls, in one or two rows (a boundary may fall between them).
    let by_interval = service
        .json("/api/reports/queues?interval=15m&queue=support", &mia)
        .await;
    let offered: u64 = by_interval["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offered"].as_u64().unwrap())
        .sum();
    assert_eq!(offered, 2);

    let csv = service.get("/api/reports/queues?format=csv", &mia).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    // Every field quoted, as the spreadsheet writer does.
    let text = csv.text().await.unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("a byte order mark first: {text}"))
        .replace('"', "");
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("queue,from,to,offered,answered,abandoned,short_abandoned"),
        "{text}"
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        (row[0], row[3], row[4], row[5], row[6]),
        ("support", "2", "1", "1", "1")
    );
    assert_eq!(lines.next(), None, "{text}");

    let agents = eventually("the agent's call in the agent report", async || {
        let report = service.json("/api/reports/agents?interval=1d", &mia).await;
        let row = report["agents"].as_array()?.first()?.clone();
        (row["calls_answered"] == 1 && row["talk_secs"].as_u64()? >= 2).then_some(row)
    })
    .await;
    assert_eq!(agents["agent"], "agent1");
    assert!(agents["login_secs"].as_u64().unwrap() >= agents["in_call_secs"].as_u64().unwrap());

    // Bad input is refused with the reason; agents may not read reports at all.
    for (path, reason) in [
        ("/api/reports/queues?from=yesterday", "from \"yesterday\""),
        ("/api/reports/queues?interval=7m", "multiple"),
        (
            "/api/reports/agents?from=2026-12-08&to=2026-12-01",
            "ends before",
        ),
        ("/api/reports/queues?format=xls", "csv"),
    ] {
        let response = service.get(path, &mia).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(reason), "{path}: {body}");
    }
    let al = service.login("al").await;
    let forbidden = service.get("/api/reports/queues?from=nonsense", &al).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let before = service.counters(&mia).await;
    assert_eq!(before["offered"], 2);
    service.stop().await;

    // The same database, a new process: today's counters are still today's.
    let service = Service::start(config(&db, &sim, spool.path())).await;
    let mia = service.login("mia").await;
    let after = service.counters(&mia).await;
    for key in [
        "offered",
        "answered",
        "abandoned",
        "service_level",
        "service_level_2",
    ] {
        assert_eq!(after[key], before[key], "{key}: {after}");
    }
    let agent = service.json("/api/agents/agent1", &mia).await;
    assert_eq!(agent["calls"], 1, "{agent}");
    service.stop().await;
    sim.shutdown();
}

/// Counters from before the day's start (in the configured zone) are not today's: a service
/// started on a database holding yesterday's last interval and today's first shows only
/// today's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_intervals_since_the_days_start_are_todays_counters() {
    let db = prepared_db().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    let config = config(&db, &sim, spool.path());
    let now = switchdesk::clock::now();
    let today = config.stats.day().start_of(now);
    let interval = config.stats.interval_ms();
    let row = |start: Millis, offered: u64| QueueInterval {
        queue: "support".into(),
        start,
        counters: Counters {
            offered,
            answered: offered,
            answered_within_sl: offered,
            ..Counters::default()
        },
        waiting: WaitingTime::default(),
    };
    db.store
        .add_intervals(&Deltas {
            queues: vec![row(today - interval, 40), row(today, 3)],
            ..Deltas::default()
        })
        .await
        .unwrap();
    let service = Service::start(config).await;
    let mia = service.login("mia").await;
    let counters = service.counters(&mia).await;
    assert_eq!(counters["offered"], 3, "{counters}");
    assert_eq!(counters["answered"], 3, "{counters}");
    // Yesterday is still in the report when asked for.
    let report = service
        .json(
            &format!("/api/reports/queues?from={}&to={}", today - interval, today),
            &mia,
        )
        .await;
    assert_eq!(report["queues"][0]["offered"], 40, "{report}");
    service.stop().await;
    sim.shutdown();
}

/// When the next day starts, the counters start again from zero, without a restart: a day
/// that starts a quarter of a minute from now (UTC), over a database holding today's counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_start_again_when_the_next_day_starts() {
    let db = prepared_db().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    let mut config = config(&db, &sim, spool.path());
    let now = switchdesk::clock::now();
    // Whole seconds: the setting has no fractions.
    let boundary = chrono::DateTime::from_timestamp_millis((now + 15_000) / 1000 * 1000).unwrap();
    config.stats.timezone = Some("UTC".parse().unwrap());
    config.stats.day_starts_at = boundary.format("%H:%M:%S").to_string().parse().unwrap();
    let interval = config.stats.interval_ms();
    let start = now - now % interval;
    db.store
        .add_intervals(&Deltas {
            queues: vec![QueueInterval {
                queue: "support".into(),
                start,
                counters: Counters {
                    offered: 5,
                    ..Counters::default()
                },
                waiting: WaitingTime::default(),
            }],
            ..Deltas::default()
        })
        .await
        .unwrap();
    let service = Service::start(config).await;
    let mia = service.login("mia").await;
    assert_eq!(service.counters(&mia).await["offered"], 5);
    eventually(
        "the counters to start again at the day's start",
        async || (service.counters(&mia).await["offered"] == 0).then_some(()),
    )
    .await;
    assert!(switchdesk::clock::now() >= boundary.timestamp_millis());
    // What was counted is still in the report.
    let report = service
        .json(&format!("/api/reports/queues?from={start}"), &mia)
        .await;
    assert_eq!(report["queues"][0]["offered"], 5, "{report}");
    service.stop().await;
    sim.shutdown();
}

/// The announced waits' median error per queue and period comes from the stored promises (one
/// per answered caller who was told an expected wait), never from per-interval figures; the
/// wallboard's history gives today's per queue with the charts' points, to supervisors only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_median_promise_error_is_reported_per_queue_and_period() {
    let db = prepared_db().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    let config = config(&db, &sim, spool.path());
    let now = switchdesk::clock::now();
    let interval = config.stats.interval_ms();
    let today = config.stats.day().start_of(now);
    let yesterday = today - 60_000;
    // Answered in the last seconds, and never before the day's start.
    let lately = today.max(now - 10_000);
    let promise = |queue: &str, call: &str, answered_at: Millis, told_min: u64, waited_ms: u64| {
        PromisedWait {
            queue: queue.into(),
            call: call.into(),
            told_at: answered_at - switchdesk::clock::ms(waited_ms),
            promised_ms: told_min * 60_000,
            answered_at,
        }
    };
    let current = now - now % interval;
    db.store
        .add_intervals(&Deltas {
            // Two callers on hold for the whole of the last interval, three at the worst.
            queues: vec![QueueInterval {
                queue: "support".into(),
                start: current - interval,
                counters: Counters::default(),
                waiting: WaitingTime {
                    waiting_ms: 2 * switchdesk::clock::elapsed(0, interval),
                    peak_waiting: 3,
                },
            }],
            promises: vec![
                // Told 2 min, waited 1, 2 and 2.5: errors −50%, 0, +25%.
                promise("support", "a", lately, 2, 60_000),
                promise("support", "b", lately + 1, 2, 120_000),
                promise("support", "c", lately + 2, 2, 150_000),
                promise("sales", "d", lately, 1, 120_000),
                // Yesterday's caller, told 1 min, waited 4 (+300%): not today's.
                promise("support", "e", yesterday, 1, 240_000),
            ],
            ..Deltas::default()
        })
        .await
        .unwrap();
    let service = Service::start(config).await;
    let mia = service.login("mia").await;

    let report = service.json("/api/reports/queues", &mia).await;
    let rows = report["queues"].as_array().unwrap();
    let row = |queue: &str| rows.iter().find(|r| r["queue"] == queue).unwrap().clone();
    let support = row("support");
    assert_eq!(support["promises"], 3, "{report}");
    assert_eq!(support["promise_error_median"], 0.25, "{report}");
    assert_eq!(support["promise_bias_median"], 0.0, "{report}");
    assert_eq!(row("sales")["promise_error_median"], 1.0, "{report}");
    // Over two days the median is taken over all four callers: (0.25 + 0.5) / 2.
    let two_days = service
        .json(
            &format!("/api/reports/queues?from={yesterday}&queue=support"),
            &mia,
        )
        .await;
    assert_eq!(two_days["queues"][0]["promises"], 4, "{two_days}");
    assert_eq!(
        two_days["queues"][0]["promise_error_median"], 0.375,
        "{two_days}"
    );

    let history = service.json("/api/stats/history?hours=2", &mia).await;
    assert_eq!(history["hours"], 2, "{history}");
    let support = &history["queues"][0];
    assert_eq!(support["queue"], "support", "{history}");
    assert_eq!(support["agents"], json!(["agent1"]), "{history}");
    assert_eq!(support["promises_today"]["promises"], 3, "{history}");
    assert_eq!(support["promises_today"]["median_error"], 0.25, "{history}");
    let points = support["points"].as_array().unwrap();
    // Two hours of 15-minute intervals and the one running now, one point each.
    assert!((9..=10).contains(&points.len()), "{history}");
    let last_full = points
        .iter()
        .find(|p| p["start"] == current - interval)
        .unwrap();
    assert_eq!(last_full["waiting"], 2.0, "{history}");
    assert_eq!(last_full["peak_waiting"], 3, "{history}");

    for (path, status, reason) in [
        (
            "/api/stats/history?hours=0",
            StatusCode::BAD_REQUEST,
            "1 to 24",
        ),
        (
            "/api/stats/history?hours=soon",
            StatusCode::BAD_REQUEST,
            "1 to 24",
        ),
        (
            "/api/stats/history?queue=nope",
            StatusCode::NOT_FOUND,
            "nope",
        ),
    ] {
        let response = service.get(path, &mia).await;
        assert_eq!(response.status(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(reason), "{body}");
    }
    let al = service.login("al").await;
    let forbidden = service.get("/api/stats/history?hours=nonsense", &al).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    service.stop().await;
    sim.shutdown();
}
