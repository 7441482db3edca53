//! The event path end to end: a recorded burst of real FreeSWITCH events (the captures,
//! repeated to 100 MB) replayed over loopback TCP by one server, read by `esl::Connection`, and
//! delivered to a consumer that reads `Event-Name` and `Unique-ID` of every event; then the same
//! burst through the `switchdesk esl tail --count` binary (every event decoded and counted).
//! Reports MB/s delivered, plain and json.

#[path = "../tests/captures/mod.rs"]
mod captures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchdesk::config::EslConfig;
use switchdesk::esl::{Connection, ConnectionEvent, EventFormat};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;

const BURST_BYTES: usize = 100 * 1000 * 1000;

/// One replay through the connection to a consumer: the time from connecting until the
/// consumer has read the last event.
async fn through_connection(stream: Arc<Vec<u8>>, events: usize, format: EventFormat) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(captures::replay_once(listener, stream));
    let config = EslConfig {
        host: address.ip().to_string(),
        port: address.port(),
        ..EslConfig::default()
    };
    let mut options = config.connection_options("bench");
    options.format = format;
    options.reconnect = false;
    let started = Instant::now();
    let (connection, mut received) = Connection::spawn_with_subscriber(options);
    let consumer = tokio::spawn(async move {
        let mut seen = 0usize;
        let mut named = 0usize;
        loop {
            match received.recv().await {
                Ok(ConnectionEvent::Events(batch)) => {
                    for event in &batch {
                        seen += 1;
                        if event.name().is_some() && event.unique_id().is_none_or(|u| !u.is_empty())
                        {
                            named += 1;
                        }
                    }
                    if seen >= events {
                        return (seen, named, started.elapsed());
                    }
                }
                Ok(ConnectionEvent::Disconnected { reason, .. }) => {
                    panic!("disconnected after {seen} of {events} events: {reason}")
                }
                Ok(ConnectionEvent::Connected { .. }) => {}
                Err(RecvError::Lagged(n)) => panic!("the consumer was shed ({n} batches)"),
                Err(RecvError::Closed) => panic!("closed after {seen} events"),
            }
        }
    });
    let (seen, named, elapsed) = consumer.await.unwrap();
    assert_eq!(seen, events);
    assert_eq!(named, events);
    connection.shutdown();
    server.await.unwrap();
    elapsed
}

/// One replay through `switchdesk esl tail --count` (a child process, as an operator runs it).
fn through_tail(
    stream: Arc<Vec<u8>>,
    events: usize,
    format: EventFormat,
    runtime: &tokio::runtime::Runtime,
) -> Duration {
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let server = runtime.spawn(captures::replay_once(listener, stream));
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchdesk"))
        .args(["esl", "tail", "--count", "--format", format.as_str()])
        .env("SWITCHDESK_ESL__HOST", address.ip().to_string())
        .env("SWITCHDESK_ESL__PORT", address.port().to_string())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    runtime.block_on(server).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with(&format!("total: {events} events")),
        "{stdout}"
    );
    elapsed
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for (format, content_type) in [
        (EventFormat::Plain, "text/event-plain"),
        (EventFormat::Json, "text/event-json"),
    ] {
        let (bytes, events) = captures::event_stream(content_type, BURST_BYTES);
        let size = bytes.len() as u64;
        let stream = Arc::new(bytes);
        let mut group = c.benchmark_group("esl_delivery");
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(10))
            .throughput(Throughput::Bytes(size));
        group.bench_with_input(
            BenchmarkId::new("connection", format.as_str()),
            &stream,
            |b, stream| {
                b.iter_custom(|iterations| {
                    (0..iterations)
                        .map(|_| {
                            runtime.block_on(through_connection(stream.clone(), events, format))
                        })
                        .sum()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("tail_count", format.as_str()),
            &stream,
            |b, stream| {
                b.iter_custom(|iterations| {
                    (0..iterations)
                        .map(|_| through_tail(stream.clone(), events, format, &runtime))
                        .sum()
                })
            },
        );
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
