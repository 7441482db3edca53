//! No single point of failure (issue 18): two `switchdesk serve` processes on one PostgreSQL
//! database and one (simulated) FreeSWITCH. One leads, the other stands by; when the leader
//! is killed the standby takes over and re-adopts every caller in order; a leader frozen past
//! its lease and resumed sends nothing. What each instance sent is read at the simulator,
//! which gives each its own door. SQLite refuses a second instance.
//!
//! The PostgreSQL tests need `SWITCHDESK_TEST_POSTGRES_URL` (see `tests/common`).

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::time::Duration;

use cluster::{eventually, Instance};
use common::{TestDb, TestDbRef};
use serde_json::{json, Value};
use switchdesk::accounts::Role;
use switchdesk::users;

/// Runs `scenario` on a fresh PostgreSQL database, if one is configured.
async fn on_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(TestDbRef) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if let Some(db) = TestDb::postgres().await {
        db.run(scenario).await;
    }
}

/// Waits until `instance`'s `/healthz` says `role`.
async fn becomes(instance: &Instance, role: &str) {
    eventually(&format!("{} to be {role}", instance.name), || async {
        (instance.role().await? == role).then_some(())
    })
    .await;
}

/// The agents of `support` as `instance` shows them.
async fn agents(instance: &Instance) -> Vec<Value> {
    let queues: Value = instance
        .get("/api/queues")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    queues[0]["agents"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_a_killed_leader_and_serves_every_caller_in_order() {
    on_postgres(killed_leader).await;
}

async fn killed_leader(db: TestDbRef) {
    let dir = tempfile::tempdir().unwrap();
    let started = switchdesk::clock::now();
    cluster::seed(&db.store, 6).await;
    let token = users::add_api_token(&db.store, "test", Role::Supervisor)
        .await
        .unwrap();
    let sim = cluster::simulator(5).await;
    let mut a = Instance::start("a", &db.url, &sim, dir.path(), &token).await;
    becomes(&a, "leader").await;
    let b = Instance::start("b", &db.url, &sim, dir.path(), &token).await;
    becomes(&b, "standby").await;

    // agent6 goes on a break through the leader; the others take calls.
    let break_taken = a
        .post(
            "/api/agents/agent6/status",
            json!({"status": "on_break", "reason": "lunch"}),
        )
        .await;
    assert_eq!(break_taken.status(), 200);
    // Five callers talk to the five agents...
    let mut talking = Vec::new();
    for n in 1..=5 {
        talking.push(cluster::call(&sim, n).await);
    }
    eventually("five calls connected", || async {
        let channels = sim.channels().await.ok()?;
        talking
            .iter()
            .all(|t| {
                channels
                    .iter()
                    .any(|c| &c.uuid == t && c.bridged_to.is_some())
            })
            .then_some(())
    })
    .await;
    // ...and fifty wait.
    let mut waiting = Vec::new();
    for n in 6..=55 {
        waiting.push(cluster::call(&sim, n).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let shown = eventually("the leader shows fifty waiting", || async {
        a.waiting().await.filter(|w| w.len() == 50)
    })
    .await;
    assert_eq!(shown, waiting);

    // The standby drives nothing: an engine write is refused with the leader's address.
    let refused = b
        .post("/api/agents/agent1/status", json!({"status": "available"}))
        .await;
    assert_eq!(refused.status(), 503);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], "standby");
    assert_eq!(refused["leader"], a.base.as_str());
    // The load balancer's check: 200 on the leader only.
    let check = |i: &Instance| {
        let url = format!("{}/healthz/leader", i.base);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!((check(&a).await, check(&b).await), (200, 503));
    // Answering the load balancer's check as meant is no error in the standby's log.
    assert!(!b.log().contains("response failed"), "{}", b.log());
    let status: Value = b.get("/api/status").await.unwrap().json().await.unwrap();
    assert_eq!(status["leadership"]["role"], "standby");
    assert_eq!(status["leadership"]["leader"], "a");
    let metrics = b.get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("switchdesk_leader{instance=\"b\"} 0"),
        "{metrics}"
    );
    assert!(
        cluster::driving(&sim.commands_received_at(b.door)).is_empty(),
        "a standby sends no command: {:?}",
        sim.commands_received_at(b.door)
    );

    // The standby's view is warm: it shows the leader's board, callers in order, agents as
    // they are, and its live feed follows the leader's.
    let (mirrored, view) = eventually("the standby shows the leader's callers", || async {
        b.waiting_shown()
            .await
            .filter(|(w, view)| view.starts_with("leader; instance=a;") && w.len() == 50)
    })
    .await;
    assert_eq!(
        mirrored, waiting,
        "the standby shows them in order ({view})"
    );
    let on_a = eventually("agents read alike on both", || async {
        let (on_a, on_b) = (agents(&a).await, agents(&b).await);
        (on_a == on_b).then_some(on_a)
    })
    .await;
    assert!(on_a
        .iter()
        .any(|v| v["name"] == "agent6" && v.to_string().contains("lunch")));
    let mut feed = cluster::Feed::open(&b, "wallboard").await;
    let snapshot = feed.next_of("snapshot").await;
    assert_eq!(snapshot["view"]["source"], "leader", "{snapshot}");
    assert_eq!(snapshot["view"]["instance"], "a", "{snapshot}");
    let late = cluster::call(&sim, 56).await;
    let frame = feed
        .until("the standby's feed shows the 51st caller", |f| {
            cluster::support_waiting(f).is_some_and(|w| w.len() == 51)
        })
        .await;
    assert_eq!(
        cluster::support_waiting(&frame).unwrap().last(),
        Some(&late)
    );
    assert!(sim.hangup(&late, "NORMAL_CLEARING").await.unwrap());
    feed.until(
        "the leader's update that the caller left, on the standby",
        |f| {
            f["type"] == "update"
                && f["update"]["update"] == "caller_left"
                && f["update"]["id"] == late.as_str()
        },
    )
    .await;
    let frame = feed
        .until("the standby's feed shows fifty again", |f| {
            cluster::support_waiting(f).is_some_and(|w| w.len() == 50)
        })
        .await;
    assert_eq!(cluster::support_waiting(&frame).unwrap(), waiting);
    let status: Value = b.get("/api/status").await.unwrap().json().await.unwrap();
    assert_eq!(status["leadership"]["view"]["source"], "leader", "{status}");
    assert!(
        cluster::driving(&sim.commands_received_at(b.door)).is_empty(),
        "a warm standby still sends nothing: {:?}",
        sim.commands_received_at(b.door)
    );

    // The leader dies without a word.
    let sent_by_a = sim.commands_received_at(a.door).len();
    a.kill();
    let adopted = eventually("the standby re-adopts the fifty callers", || async {
        b.waiting().await.filter(|w| w.len() == 50)
    })
    .await;
    assert_eq!(adopted, waiting, "re-adopted in their original order");
    becomes(&b, "leader").await;
    // The feed goes on: the new leader's own board reaches the screen that stayed connected.
    feed.until("the new leader's own board on the same feed", |f| {
        f["type"] == "queue" && cluster::support_waiting(f).is_some_and(|w| w == waiting)
    })
    .await;
    let status: Value = b.get("/api/status").await.unwrap().json().await.unwrap();
    assert_eq!(status["leadership"]["view"]["source"], "own", "{status}");
    assert!(b.log().contains("leading"), "{}", b.log());
    let metrics = b.get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("switchdesk_leader{instance=\"b\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchdesk_leader_takeovers_total{instance=\"b\"} 1"),
        "{metrics}"
    );
    // Agents keep their status; the connected calls are tracked.
    let shown = agents(&b).await;
    let agent = |name: &str| {
        shown
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert!(agent("agent6").to_string().contains("lunch"), "{shown:?}");
    for n in 1..=5 {
        let view = agent(&format!("agent{n}"));
        assert_eq!(view["activity"], "in_call", "{view}");
        assert!(talking.iter().any(|t| view["call"] == t.as_str()), "{view}");
    }

    // Later everyone is served, once each, in order.
    for n in 1..=5 {
        cluster::answering(&sim, n, Some(Duration::from_millis(30))).await;
    }
    for call in &talking {
        assert!(sim.hangup(call, "NORMAL_CLEARING").await.unwrap());
    }
    let served = eventually("every waiting caller served", || async {
        let bridges = sim.bridges_run().await.ok()?;
        let served: Vec<String> = bridges
            .into_iter()
            .map(|(call, _)| call)
            .filter(|call| waiting.contains(call))
            .collect();
        (served.len() >= 50).then_some(served)
    })
    .await;
    assert_eq!(served, waiting, "each caller offered once, in their order");
    eventually("the queue empties", || async {
        b.waiting().await.filter(|w| w.is_empty())
    })
    .await;
    assert_eq!(
        sim.commands_received_at(a.door).len(),
        sent_by_a,
        "nothing from the killed leader"
    );
    // Only the leader records statistics: agent6's logged-in time is never more than the
    // time that passed (a standby counting the view it serves would double it).
    let on_break = eventually("agent6's time stored by the new leader", || async {
        let rows = db
            .store
            .agent_intervals(started - 3_600_000, started + 3_600_000, "agent6")
            .await
            .ok()?;
        let stored: u64 = rows.iter().map(|r| r.time.login_ms).sum();
        let since_b_leads = rows.iter().any(|r| r.time.break_ms > 0);
        (since_b_leads && stored > 0).then_some(stored)
    })
    .await;
    let passed = switchdesk::clock::elapsed(started, switchdesk::clock::now());
    assert!(
        on_break <= passed,
        "agent6 on a break for {on_break} ms in {passed} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_pops_up_a_ringing_call_and_a_takeover_cancels_the_offer_keeping_the_place() {
    on_postgres(ringing_at_takeover).await;
}

async fn ringing_at_takeover(db: TestDbRef) {
    use switchdesk::sim::{AgentBehaviour, CallSpec};
    let dir = tempfile::tempdir().unwrap();
    // Callers may press 1 to be called back, keeping their place.
    let mut queue = cluster::queue();
    queue.callbacks.key = Some('1');
    queue.callbacks.dial = "user/{number}@default".parse().unwrap();
    queue.callbacks.ring_secs = 5;
    cluster::seed_queue(&db.store, &queue, 1).await;
    let token = users::add_api_token(&db.store, "test", Role::Supervisor)
        .await
        .unwrap();
    let agent_token = users::add_api_token(&db.store, "agent1", Role::Agent)
        .await
        .unwrap();
    let sim = cluster::simulator(0).await;
    // agent1's phone rings on and on.
    sim.add_endpoint(&cluster::endpoint(1), AgentBehaviour::NoAnswer)
        .await
        .unwrap();
    let mut a = Instance::start("a", &db.url, &sim, dir.path(), &token).await;
    becomes(&a, "leader").await;
    let b = Instance::start("b", &db.url, &sim, dir.path(), &token).await;
    becomes(&b, "standby").await;
    let mut desktop = cluster::Feed::open_as(&b, "agent", &agent_token).await;
    desktop.next_of("snapshot").await;

    // A place is kept to the millisecond: the callers come a few apart.
    let first = cluster::call(&sim, 1).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = cluster::call(&sim, 2).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let customer = "+15550000003";
    sim.add_endpoint(
        &format!("user/{customer}@default"),
        AgentBehaviour::Answer {
            ring: Duration::from_millis(100),
            talk: Some(Duration::from_millis(30)),
        },
    )
    .await
    .unwrap();
    let third = sim
        .place_call(CallSpec {
            from_number: customer.into(),
            destination: "7000".into(),
            dtmf: vec![(Duration::from_millis(300), '1')],
            ..CallSpec::default()
        })
        .await
        .unwrap();
    // The leader rings agent1 for the first caller; the desktop connected to the standby
    // shows the ringing phone and pops the caller up.
    let ringing = desktop
        .until("agent1 ringing, on the standby's feed", |f| {
            f["type"] == "agent" && f["agent"]["activity"] == "ringing"
        })
        .await;
    assert_eq!(ringing["agent"]["call"], first.as_str(), "{ringing}");
    let popup = desktop.next_of("popup").await;
    assert_eq!(popup["call"], first.as_str(), "{popup}");
    let agent_leg = eventually("agent1's ringing leg", || async {
        let channels = sim.channels().await.ok()?;
        channels
            .iter()
            .find(|c| c.uuid != first && c.uuid != second && c.uuid != third)
            .map(|c| c.uuid.clone())
    })
    .await;
    // The third caller hung up to be called back: their callback keeps the place.
    eventually("the third caller's callback, on the leader", || async {
        let (waiting, _) = a.waiting_shown().await?;
        (waiting == [first.clone(), second.clone(), third.clone()]
            && !sim.channels().await.ok()?.iter().any(|c| c.uuid == third))
        .then_some(())
    })
    .await;

    // The leader dies while the phone rings: the new leader cancels that offer (nobody knows
    // whether it was still wanted) and both callers keep their places.
    a.kill();
    let adopted = eventually(
        "the standby re-adopts both callers and the callback",
        || async { b.waiting().await.filter(|w| w.len() == 3) },
    )
    .await;
    let shown: Value = b.get("/api/queues").await.unwrap().json().await.unwrap();
    assert_eq!(
        adopted,
        vec![first.clone(), second.clone(), third.clone()],
        "{:#}",
        shown[0]["waiting"]
    );
    eventually("the old offer's leg hung up", || async {
        let channels = sim.channels().await.ok()?;
        (!channels.iter().any(|c| c.uuid == agent_leg)).then_some(())
    })
    .await;
    // Then agent1 answers, and the callers are served in their order (the first caller's
    // `bridge` ran twice: the cancelled offer, then the new leader's).
    cluster::answering(&sim, 1, Some(Duration::from_millis(30))).await;
    let served = eventually("both callers served", || async {
        let mut served: Vec<String> = sim
            .bridges_run()
            .await
            .ok()?
            .into_iter()
            .map(|(call, _)| call)
            .filter(|call| *call == first || *call == second)
            .collect();
        served.dedup();
        (served.len() >= 2).then_some(served)
    })
    .await;
    assert_eq!(served, vec![first, second]);
    // And the customer who asked is called back, by the new leader.
    eventually("the callback dialled by the new leader", || async {
        sim.commands_received_at(b.door)
            .iter()
            .any(|c| c.contains("originate") && c.contains(&format!("user/{customer}@default")))
            .then_some(())
    })
    .await;
    eventually("the queue empties", || async {
        b.waiting().await.filter(|w| w.is_empty())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_frozen_past_its_lease_sends_nothing_when_it_resumes() {
    on_postgres(frozen_leader).await;
}

async fn frozen_leader(db: TestDbRef) {
    let dir = tempfile::tempdir().unwrap();
    // Callers hear their place every 2 s: the frozen leader has timers due when it resumes
    // (without the gate it sends those announcements: checked by disabling it).
    let mut queue = cluster::queue();
    queue.announcements.periodic_secs = 2;
    queue.announcements.min_gap_secs = 1;
    cluster::seed_queue(&db.store, &queue, 1).await;
    let token = users::add_api_token(&db.store, "test", Role::Supervisor)
        .await
        .unwrap();
    let sim = cluster::simulator(1).await;
    let a = Instance::start("a", &db.url, &sim, dir.path(), &token).await;
    becomes(&a, "leader").await;
    let b = Instance::start("b", &db.url, &sim, dir.path(), &token).await;
    becomes(&b, "standby").await;
    // One caller talks to agent1, three wait (their announcements and hold music are timers
    // the frozen leader would act on when it resumes).
    let talking = cluster::call(&sim, 1).await;
    eventually("the call connected", || async {
        let channels = sim.channels().await.ok()?;
        channels
            .iter()
            .any(|c| c.uuid == talking && c.bridged_to.is_some())
            .then_some(())
    })
    .await;
    let mut waiting = Vec::new();
    for n in 2..=4 {
        waiting.push(cluster::call(&sim, n).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    eventually("the leader shows three waiting", || async {
        a.waiting().await.filter(|w| w.len() == 3)
    })
    .await;

    // Frozen: its sockets stay open, its database session too, until the standby ends it.
    a.freeze();
    let sent_before = sim.commands_received_at(a.door).len();
    let adopted = eventually("the standby re-adopts the three callers", || async {
        b.waiting().await.filter(|w| w.len() == 3)
    })
    .await;
    assert_eq!(adopted, waiting);
    becomes(&b, "leader").await;
    // The new leader goes on serving while the old one is frozen: a caller arrives, the
    // agent is freed and takes the first in line.
    let late = cluster::call(&sim, 5).await;
    eventually("the late caller adopted", || async {
        b.waiting().await.filter(|w| w.contains(&late))
    })
    .await;
    assert!(sim.hangup(&talking, "NORMAL_CLEARING").await.unwrap());
    eventually("the first in line connected", || async {
        let channels = sim.channels().await.ok()?;
        channels
            .iter()
            .any(|c| c.uuid == waiting[0] && c.bridged_to.is_some())
            .then_some(())
    })
    .await;

    // Resumed: it finds its lease over, steps down and sends nothing.
    a.resume();
    becomes(&a, "standby").await;
    // Its timers (announcements, hold music, offers) have had time to fire.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = sim.commands_received_at(a.door);
    let driving = cluster::driving(&after[sent_before..]);
    assert!(
        driving.is_empty(),
        "the old leader sent {driving:?} after it resumed"
    );
    assert!(a.log().contains("stepping down"), "{}", a.log());
    assert!(
        b.log().contains("stopped renewing its lease"),
        "{}",
        b.log()
    );
    // The new leader was not disturbed.
    assert_eq!(b.role().await.as_deref(), Some("leader"));
    assert_eq!(b.waiting().await.map(|w| w.len()), Some(3));
}

/// SQLite serves one instance: a second `serve` on the same file is refused, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_on_one_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sim = cluster::simulator(0).await;
    let url = format!("sqlite://{}/sd.db", dir.path().display());
    let first = Instance::start("one", &url, &sim, dir.path(), "").await;
    assert_eq!(first.role().await.as_deref(), Some("single"));
    let config = dir.path().join("one.toml");
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_switchdesk"))
        .env_remove("SWITCHDESK_HTTP__LISTEN")
        .env("SWITCHDESK_HTTP__LISTEN", "127.0.0.1:0")
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .output()
        .unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("another switchdesk already serves the SQLite database"),
        "{said}"
    );
    assert_eq!(first.role().await.as_deref(), Some("single"));
}

/// Every queue-state write of the leader's writer carries its epoch: once a newer leader took
/// over, the database refuses it (`StoreError::is_fenced`); sessions that carry no epoch (the
/// API, CDR ingest, tools) are not fenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_state_written_for_an_old_epoch_is_refused() {
    on_postgres(stale_epoch).await;
}

async fn stale_epoch(db: TestDbRef) {
    use std::sync::atomic::AtomicI64;
    use std::sync::Arc;
    use switchdesk::acd::AgentStatus;
    use switchdesk::store::LockSession;

    cluster::seed(&db.store, 1).await;
    let lease = Duration::from_secs(5);
    let mut first = LockSession::open(&db.url).await.unwrap();
    let epoch = first
        .try_lead("a", "http://a", lease)
        .await
        .unwrap()
        .unwrap();
    let mut second = LockSession::open(&db.url).await.unwrap();
    assert_eq!(second.try_lead("b", "http://b", lease).await.unwrap(), None);
    let writes = db
        .store
        .fenced(&db.url, Arc::new(AtomicI64::new(epoch)))
        .await
        .unwrap();
    writes
        .save_agent_state("agent1", &AgentStatus::OnBreak("lunch".into()), 1, 0)
        .await
        .unwrap();
    assert!(first.renew(epoch, lease).await.unwrap());

    // The first leader's session ends; the second takes over with the next epoch.
    first.close().await;
    // PostgreSQL frees the lock once it has seen the session end.
    let mut newer = None;
    for _ in 0..500 {
        newer = second.try_lead("b", "http://b", lease).await.unwrap();
        if newer.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(newer, Some(epoch + 1));
    let refused = writes
        .save_agent_state("agent1", &AgentStatus::Available, 2, 0)
        .await
        .unwrap_err();
    assert!(refused.is_fenced(), "{refused}");
    assert_eq!(db.store.leader().await.unwrap().instance, "b");
    let agent = &db.store.agents().await.unwrap()[0];
    assert_eq!(agent.status, AgentStatus::OnBreak("lunch".into()));
    // Not fenced: a write that carries no epoch.
    db.store
        .save_agent_state("agent1", &AgentStatus::Available, 2, 0)
        .await
        .unwrap();
    writes.close().await;
    second.close().await;
}
