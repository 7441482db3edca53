//! How long the contact center is without a leader when the leader dies (issue 18): two
//! `switchdesk serve` processes on one PostgreSQL database and the simulated switch, 50
//! callers waiting and 5 in calls; the leader is killed (SIGKILL, so PostgreSQL frees its
//! advisory lock as soon as it sees the socket close) and the clock runs until the standby
//! shows all 50 callers re-adopted in their order, polled every 5 ms over its HTTP API. Also
//! reported: until the standby's `/healthz` says `leader`. Each round on a fresh database.
//!
//! Needs `SWITCHDESK_TEST_POSTGRES_URL` (as the PostgreSQL tests). `cargo bench --bench
//! takeover [-- ROUNDS]` (5 rounds by default).

#[path = "../tests/common/cluster.rs"]
mod cluster;
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use cluster::{eventually, Instance};
use common::{TestDb, TestDbRef};
use switchdesk::accounts::Role;
use switchdesk::users;

const WAITING: usize = 50;
const TALKING: usize = 5;

/// One takeover: (kill → standby says leader, kill → every caller re-adopted).
async fn round(db: TestDbRef) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    cluster::seed(&db.store, TALKING).await;
    let token = users::add_api_token(&db.store, "bench", Role::Supervisor)
        .await
        .unwrap();
    let sim = cluster::simulator(TALKING).await;
    let mut a = Instance::start("a", &db.url, &sim, dir.path(), &token).await;
    eventually("a leads", || async {
        (a.role().await? == "leader").then_some(())
    })
    .await;
    let b = Instance::start("b", &db.url, &sim, dir.path(), &token).await;
    eventually("b stands by", || async {
        (b.role().await? == "standby").then_some(())
    })
    .await;
    let mut talking = Vec::new();
    for n in 1..=TALKING {
        talking.push(cluster::call(&sim, n).await);
    }
    eventually("the calls connected", || async {
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
    let mut waiting = Vec::new();
    for n in 0..WAITING {
        waiting.push(cluster::call(&sim, TALKING + 1 + n).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    eventually("the leader shows every caller", || async {
        a.waiting().await.filter(|w| *w == waiting)
    })
    .await;

    let killed = Instant::now();
    a.kill();
    let mut leads = None;
    loop {
        if leads.is_none() && b.role().await.as_deref() == Some("leader") {
            leads = Some(killed.elapsed());
        }
        if b.waiting().await.is_some_and(|w| w == waiting) {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(60), "no takeover");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let adopted = killed.elapsed();
    if std::env::var_os("TAKEOVER_LOG").is_some() {
        for line in b.log().lines().filter(|l| {
            ["leading", "taking the lead", "driving", "resync done"]
                .iter()
                .any(|w| l.contains(w))
        }) {
            println!("  b: {line}");
        }
    }
    (leads.unwrap_or(adopted), adopted)
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut leads = Vec::new();
    let mut adopted = Vec::new();
    for n in 1..=rounds {
        let times = runtime.block_on(async {
            let db = TestDb::postgres().await?;
            let (sender, receiver) = tokio::sync::oneshot::channel();
            db.run(|db| async move {
                let _ = sender.send(round(db).await);
            })
            .await;
            receiver.await.ok()
        });
        let Some((lead, all)) = times else {
            println!("takeover: set SWITCHDESK_TEST_POSTGRES_URL to measure it");
            return;
        };
        println!(
            "takeover round {n}: standby leads after {:.0} ms, {WAITING} callers re-adopted after {:.0} ms",
            ms(lead),
            ms(all)
        );
        leads.push(lead);
        adopted.push(all);
    }
    leads.sort();
    adopted.sort();
    println!(
        "takeover over {rounds} rounds ({WAITING} waiting, {TALKING} in calls): kill → leader \
         min {:.0} / median {:.0} / max {:.0} ms; kill → all adopted min {:.0} / median {:.0} / max {:.0} ms",
        ms(leads[0]),
        ms(leads[leads.len() / 2]),
        ms(leads[leads.len() - 1]),
        ms(adopted[0]),
        ms(adopted[adopted.len() / 2]),
        ms(adopted[adopted.len() - 1]),
    );
}

fn ms(span: Duration) -> f64 {
    span.as_secs_f64() * 1000.0
}
