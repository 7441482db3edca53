//! The live feed's fan-out: 1,000 WebSocket clients on the wallboard feed of the real router
//! (real sockets on loopback, session cookies), while the hub is fed 200 updates a second (a
//! caller announced, each a ~200-byte frame). Every client stamps every frame on arrival;
//! latency is arrival minus the moment the update left the switchboard's side. Criterion
//! samples one update's delivery to all 1,000 clients; then a 10-second run at 200 updates/s
//! prints p50/p99 over the 2,000,000 deliveries. Clients and server share the 2 cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::StreamExt as _;
use switchdesk::acd::Update;
use switchdesk::config::Config;
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::store::Store;
use switchdesk::users::{self, Role};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 1_000;
const RATE: u64 = 200;
const SECONDS: u64 = 10;

/// When each update was sent, by sequence number (nanoseconds since `epoch`).
struct Stamps {
    epoch: Instant,
    sent: Vec<AtomicU64>,
    /// Only updates numbered below this are the sustained run's (criterion's come after).
    recorded_below: usize,
}

struct Feed {
    updates: broadcast::Sender<Update>,
    stamps: Arc<Stamps>,
    latencies: Arc<Mutex<Vec<Duration>>>,
    delivered: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

fn announced(seq: usize) -> Update {
    Update::Announced {
        queue: "support".into(),
        call: format!("bench-{seq}-"),
        position: 1,
        wait_minutes: Some(2),
        at: 0,
    }
}

async fn start(total: usize, recorded_below: usize) -> Feed {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/bench.db", dir.path().display()), 4)
        .await
        .unwrap();
    users::add_user(&store, "sue", Role::Supervisor, "bench-password-1")
        .await
        .unwrap();
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("US").unwrap()));
    let mut state =
        switchdesk::service::state_without_switch(Config::default(), &store, phonebook.clone())
            .await
            .unwrap();
    let (updates, receiver) = broadcast::channel(64 * 1024);
    let (_tickets, ticket_receiver) = broadcast::channel(16);
    let sources = switchdesk::live::Sources {
        board: state.board.clone(),
        updates: receiver,
        tickets: ticket_receiver,
        store: store.clone(),
        phonebook,
    };
    state.live = switchdesk::live::Hub::start(sources, &state.tasks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    tokio::spawn(switchdesk::web::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let login = reqwest::Client::new()
        .post(format!("http://{base}/api/login"))
        .json(&serde_json::json!({"name": "sue", "password": "bench-password-1"}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let stamps = Arc::new(Stamps {
        epoch: Instant::now(),
        sent: (0..total).map(|_| AtomicU64::new(0)).collect(),
        recorded_below,
    });
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total * CLIENTS)));
    let delivered = Arc::new(AtomicU64::new(0));
    let (ready, mut all_ready) = tokio::sync::mpsc::channel(CLIENTS);
    for _ in 0..CLIENTS {
        let mut request = format!("ws://{base}/ws?feed=wallboard")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let (stamps, latencies, delivered, ready) = (
            stamps.clone(),
            latencies.clone(),
            delivered.clone(),
            ready.clone(),
        );
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let arrived = stamps.epoch.elapsed();
                if text.contains("\"snapshot\"") {
                    let _ = ready.send(()).await;
                    continue;
                }
                let Some(seq) = text
                    .split_once("bench-")
                    .and_then(|(_, rest)| rest.split_once('-'))
                    .and_then(|(seq, _)| seq.parse::<usize>().ok())
                else {
                    continue;
                };
                let sent = Duration::from_nanos(stamps.sent[seq].load(Ordering::Acquire));
                if seq < stamps.recorded_below {
                    mine.push(arrived.saturating_sub(sent));
                }
                delivered.fetch_add(1, Ordering::Release);
                // Flushed in chunks, and at the sustained run's last update.
                if mine.len() >= 256 || seq + 1 == stamps.recorded_below {
                    latencies.lock().unwrap().append(&mut mine);
                }
            }
            latencies.lock().unwrap().append(&mut mine);
        });
    }
    for _ in 0..CLIENTS {
        all_ready.recv().await.unwrap();
    }
    Feed {
        updates,
        stamps,
        latencies,
        delivered,
        _dir: dir,
    }
}

impl Feed {
    fn send(&self, seq: usize) {
        self.stamps.sent[seq].store(
            self.stamps.epoch.elapsed().as_nanos() as u64,
            Ordering::Release,
        );
        self.updates.send(announced(seq)).unwrap();
    }

    async fn delivered_at_least(&self, count: u64) {
        while self.delivered.load(Ordering::Acquire) < count {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
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
    let sustained = (RATE * SECONDS) as usize;
    let sampled = 10_000;
    let feed = runtime.block_on(start(sustained + sampled, sustained));
    let mut seq = sustained;
    let mut group = c.benchmark_group("live_feed");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("one_update_to_1000_clients", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let before = feed.delivered.load(Ordering::Acquire);
                    let started = Instant::now();
                    feed.send(seq);
                    seq += 1;
                    feed.delivered_at_least(before + CLIENTS as u64).await;
                    total += started.elapsed();
                }
                total
            })
        })
    });
    group.finish();

    runtime.block_on(async {
        let before = feed.delivered.load(Ordering::Acquire);
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
        let started = Instant::now();
        for i in 0..sustained {
            tick.tick().await;
            feed.send(i);
        }
        let expected = before + (sustained * CLIENTS) as u64;
        let waited = tokio::time::timeout(Duration::from_secs(60), feed.delivered_at_least(expected)).await;
        let took = started.elapsed();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut latencies = std::mem::take(&mut *feed.latencies.lock().unwrap());
        latencies.sort();
        eprintln!(
            "live feed: {CLIENTS} clients, {RATE} updates/s for {SECONDS} s: {} of {} deliveries{} in {:.1} s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            sustained * CLIENTS,
            if waited.is_err() { " (timed out)" } else { "" },
            took.as_secs_f64(),
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
