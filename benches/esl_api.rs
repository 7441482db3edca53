//! `api` round-trips per second over loopback TCP against the simulated switch, with 1,000
//! requests in flight on one connection (pipelined; replies matched in order).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchdesk::config::EslConfig;
use switchdesk::esl::Connection;
use switchdesk::sim::{SimConfig, Simulator};
use tokio::net::TcpListener;

const IN_FLIGHT: usize = 1000;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let esl = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(listener, SimConfig::default())
            .await
            .unwrap();
        let config = EslConfig {
            host: "127.0.0.1".into(),
            port: sim.addr().port(),
            ..EslConfig::default()
        };
        let mut options = config.connection_options("bench");
        options.events = vec!["HEARTBEAT".into()];
        let (esl, mut events) = Connection::spawn_with_subscriber(options);
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let switchdesk::esl::ConnectionEvent::Disconnected { reason, .. } = event {
                    eprintln!("disconnected: {reason}");
                }
            }
        });
        while !esl.is_connected() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        std::mem::forget(sim);
        esl
    });

    let mut group = c.benchmark_group("esl_api_roundtrip");
    group
        .sample_size(20)
        .throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.bench_function("status_1000_in_flight", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    let calls: Vec<_> = (0..IN_FLIGHT)
                        .map(|_| {
                            let esl = esl.clone();
                            tokio::spawn(async move { esl.api("status").await })
                        })
                        .collect();
                    for call in calls {
                        let reply = call.await.unwrap().unwrap();
                        assert!(reply.starts_with("UP "));
                    }
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
