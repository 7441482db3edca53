//! Decoding a large ESL stream built from the real captures: frames parsed, every event indexed,
//! and the headers an adapter reads on each event (Event-Name, Unique-ID) decoded.
//! Reports MB/s (bytes group) and events/s (events group), plain and json, on one core.

#[path = "../tests/captures/mod.rs"]
mod captures;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchdesk::esl::{Event, Parser};

const TARGET_BYTES: usize = 32 * 1024 * 1024;

/// Every event frame of the given content type, from every capture, repeated to ~32 MiB.
fn stream(content_type: &str) -> (Vec<u8>, usize) {
    captures::event_stream(content_type, TARGET_BYTES)
}

/// What the service does with each read: frames out, events indexed, two headers read.
fn decode(stream: &[u8]) -> usize {
    let mut parser = Parser::new(16 * 1024 * 1024);
    let mut seen = 0;
    for chunk in stream.chunks(64 * 1024) {
        parser.push(chunk);
        while let Some(frame) = parser.next_frame().unwrap() {
            let event = Event::from_frame(&frame).unwrap();
            if event.name().is_some() && event.unique_id().is_none_or(|u| !u.is_empty()) {
                seen += 1;
            }
        }
    }
    seen
}

fn bench(c: &mut Criterion) {
    for (label, content_type) in [("plain", "text/event-plain"), ("json", "text/event-json")] {
        let (bytes, events) = stream(content_type);
        assert_eq!(decode(&bytes), events);
        let mut group = c.benchmark_group("esl_decode_bytes");
        group
            .sample_size(10)
            .throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &bytes, |b, s| {
            b.iter(|| decode(s))
        });
        group.finish();
        let mut group = c.benchmark_group("esl_decode_events");
        group
            .sample_size(10)
            .throughput(Throughput::Elements(events as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &bytes, |b, s| {
            b.iter(|| decode(s))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
