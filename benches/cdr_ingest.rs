//! CDR ingest throughput: mod_xml_cdr POSTs (form-encoded, basic credentials) into the real
//! router on a real socket, with the ticket rules applied and every answer sent only after its
//! transaction is durable: SQLite in WAL mode with `synchronous=FULL` (an fsync per commit;
//! concurrent POSTs share a commit), and PostgreSQL when `SWITCHDESK_TEST_POSTGRES_URL` is set.
//!
//! The CDRs are the captured caller and agent legs of call 02 with switchdesk's variables
//! added and fresh UUIDs, so every pair is a queue call answered by an agent: a leg stored, a
//! call rebuilt, a ticket opened (or threaded: callers repeat), a time entry booked. 32
//! clients post at once, as a busy FreeSWITCH's threads do. Criterion samples 1,000 POSTs;
//! then one run of 10,000 per backend prints POSTs per second and latency p50/p99.

#[path = "../tests/captures/mod.rs"]
mod captures;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reqwest::Client;
use switchdesk::config::{Config, Secret};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::store::Store;
use switchdesk::web::{self};

const CLIENTS: usize = 32;
const SAMPLED: usize = 1_000;
const LARGE: usize = 10_000;
const CALLER: &str = "02bbee13-3a02-4f46-982e-d4f4cf6e771a";
const AGENT: &str = "9a8b25a2-ee22-44b7-9a88-33801a5d0b8d";

fn logdir(file: &str) -> String {
    std::fs::read_to_string(captures::freeswitch().join("cdr/logdir").join(file)).unwrap()
}

/// `count` form bodies: caller and agent legs of `count / 2` calls from 200 callers.
fn bodies(count: usize, run: u64) -> Vec<String> {
    let caller = logdir("02_call_caller_aleg__a_02bbee13-3a02-4f46-982e-d4f4cf6e771a.cdr.xml");
    let agent = logdir("02_call_agent_bleg__9a8b25a2-ee22-44b7-9a88-33801a5d0b8d.cdr.xml");
    let form = |xml: &str| {
        let mut body = String::from("cdr=");
        for b in xml.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                body.push(b as char);
            } else {
                body.push_str(&format!("%{b:02X}"));
            }
        }
        body
    };
    (0..count / 2)
        .flat_map(|i| {
            let call = format!("{run:04}{i:08}-3a02-4f46-982e-d4f4cf6e771a");
            let leg = format!("{run:04}{i:08}-ee22-44b7-9a88-33801a5d0b8d");
            let number = format!("%2B1555{:07}", i % 200);
            let caller = caller
                .replace(CALLER, &call)
                .replace("%2B15550001", &number)
                .replacen(
                    "<variables>",
                    "<variables><switchdesk_queue>support</switchdesk_queue><switchdesk_enqueued_at>1795314249000</switchdesk_enqueued_at>",
                    1,
                );
            let agent = agent.replace(AGENT, &leg).replace(CALLER, &call).replacen(
                "<variables>",
                "<variables><switchdesk_leg>agent</switchdesk_leg><switchdesk_agent>alice</switchdesk_agent>",
                1,
            );
            [form(&caller), form(&agent)]
        })
        .collect()
}

async fn serve(store: &Store) -> String {
    let mut config = Config::default();
    config.cdr.password = Secret::new("bench");
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let state = switchdesk::service::state_without_switch(config, store, phonebook)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/cdr", listener.local_addr().unwrap());
    tokio::spawn(web::serve(listener, state, std::future::pending()));
    url
}

/// Posts every body from `CLIENTS` clients; returns the total time and each POST's latency.
async fn post_all(url: &str, bodies: Vec<String>) -> (Duration, Vec<Duration>) {
    let client = Client::new();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, queue, url) = (client.clone(), queue.clone(), url.to_owned());
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(body) = queue.lock().unwrap().pop() else {
                    return latencies;
                };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .basic_auth("freeswitch", Some("bench"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    (started.elapsed(), latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn bench(c: &mut Criterion) {
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let backends = support::backends();

    let mut group = c.benchmark_group("cdr_ingest");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(SAMPLED as u64));
    for (name, admin) in &backends {
        let admin = admin.as_deref();
        let (store, fresh) = runtime.block_on(support::fresh(admin));
        let url = runtime.block_on(serve(&store));
        let mut run = 0;
        group.bench_function(format!("{name}_1k_posts"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        run += 1;
                        runtime.block_on(post_all(&url, bodies(SAMPLED, run))).0
                    })
                    .sum()
            })
        });
        runtime.block_on(support::remove(store, fresh));
    }
    group.finish();

    for (name, admin) in &backends {
        let admin = admin.as_deref();
        let (store, fresh) = runtime.block_on(support::fresh(admin));
        let url = runtime.block_on(serve(&store));
        let (took, mut latencies) = runtime.block_on(post_all(&url, bodies(LARGE, 9_999)));
        latencies.sort();
        let legs = runtime.block_on(store.count_cdr_legs()).unwrap();
        assert_eq!(legs, LARGE as i64);
        eprintln!(
            "cdr ingest into {name}: {LARGE} POSTs in {:.2} s = {:.0} POSTs/s; latency p50 {:.1} ms, p99 {:.1} ms",
            took.as_secs_f64(),
            LARGE as f64 / took.as_secs_f64(),
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        );
        runtime.block_on(support::remove(store, fresh));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
