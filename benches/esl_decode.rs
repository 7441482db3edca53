//! Decoding a large ESL stream built from the real captures: frames parsed, every event indexed,
//! and the headers an adapter reads on each event (Event-Name, Unique-ID) decoded.
//! Reports MB/s (bytes group) and events/s (events group), plain and json, on one core.

#[path = "../tests/captures/mod.rs"]
mod captures;

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchdesk::esl::{Event, Parser};

const TARGET_BYTES: usize = 32 * 1024 * 1024;

fn fixtures() -> PathBuf {
    captures::freeswitch()
}

/// Every event frame of the given content type, from every capture, repeated to ~32 MiB.
fn stream(content_type: &str) -> (Vec<u8>, usize) {
    let mut frames = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(fixtures().join("esl"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "rx"))
    {
        let mut parser = Parser::default();
        parser.push(&std::fs::read(path).unwrap());
        while let Some(frame) = parser.next_frame().unwrap() {
            if frame.content_type() == Some(content_type) {
                let mut bytes = frame.head().to_vec();
                bytes.extend_from_slice(b"\n\n");
                bytes.extend_from_slice(frame.body());
                frames.push(bytes);
            }
        }
    }
    let mut out = Vec::with_capacity(TARGET_BYTES + 1_000_000);
    let mut events = 0;
    while out.len() < TARGET_BYTES {
        for frame in &frames {
            out.extend_from_slice(frame);
            events += 1;
        }
    }
    (out, events)
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
