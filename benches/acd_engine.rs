//! Cost of one engine input with a busy contact center loaded: 100 queues, 2,000 agents
//! (20 per queue, all in calls), 10,000 waiting callers (100 per queue). Each measured input is
//! a realistic one: a caller arrives, a caller hangs up (positions move, announcements are
//! due), an agent frees up and takes the head of the queue through a full offer.
//! Prints the per-input latency distribution (p50/p99/max) besides criterion's mean.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchdesk::acd::{
    Action, AgentConfig, AgentStatus, CallerArrival, Engine, Membership, QueueConfig,
};
use switchdesk::clock::Millis;

const QUEUES: usize = 100;
const AGENTS_PER_QUEUE: usize = 20;
const CALLERS_PER_QUEUE: usize = 100;
const T0: Millis = 1_800_000_000_000;

struct Loaded {
    engine: Engine,
    now: Millis,
    next_call: u64,
    /// Per queue, the waiting callers in arrival order (front = oldest).
    waiting: Vec<VecDeque<String>>,
    /// Per queue, the calls in progress.
    talking: Vec<Vec<String>>,
}

/// The agent legs rung since the last drain: (call, leg).
fn drain(engine: &mut Engine) -> Vec<(String, String)> {
    let mut rung = Vec::new();
    while let Some(action) = engine.poll_action() {
        if let Action::RingAgent { leg, call, .. } = action {
            rung.push((call, leg));
        }
    }
    while engine.poll_update().is_some() {}
    rung
}

fn arrive(world: &mut Loaded, q: usize) {
    let call = format!("c{}", world.next_call);
    world.next_call += 1;
    let arrival = CallerArrival {
        call: call.clone(),
        queue: format!("q{q}"),
        number: format!("+1555{:07}", world.next_call),
        ..Default::default()
    };
    world.engine.caller_arrived(world.now, arrival).unwrap();
    world.waiting[q].push_back(call);
}

fn loaded() -> Loaded {
    let mut world = Loaded {
        engine: Engine::new(42),
        now: T0,
        next_call: 0,
        waiting: vec![VecDeque::new(); QUEUES],
        talking: vec![Vec::new(); QUEUES],
    };
    for q in 0..QUEUES {
        let mut config = QueueConfig::named(format!("q{q}"));
        config.wrap_up_secs = 0;
        world.engine.set_queue(world.now, config).unwrap();
    }
    for q in 0..QUEUES {
        for a in 0..AGENTS_PER_QUEUE {
            let name = format!("a{q}_{a}");
            let config = AgentConfig {
                name: name.clone(),
                endpoint: format!("user/{name}@default").parse().unwrap(),
                queues: vec![Membership {
                    queue: format!("q{q}"),
                    tier: 1,
                    position: a as u32 + 1,
                }],
            };
            world.engine.set_agent(world.now, config).unwrap();
            world
                .engine
                .set_agent_status(world.now, &name, AgentStatus::Available)
                .unwrap();
            // Each agent takes a call, so the callers below wait.
            world.now += 1;
            arrive(&mut world, q);
            connect(&mut world, q);
        }
    }
    for i in 0..QUEUES * CALLERS_PER_QUEUE {
        world.now += 1;
        arrive(&mut world, i % QUEUES);
        drain(&mut world.engine);
    }
    world
}

/// Answers and bridges every agent rung, moving their callers from waiting to talking.
fn connect(world: &mut Loaded, q: usize) {
    for (call, leg) in drain(&mut world.engine) {
        world.engine.leg_answered(world.now, &leg);
        world.engine.bridged(world.now, &call);
        if let Some(i) = world.waiting[q].iter().position(|c| *c == call) {
            world.waiting[q].remove(i);
        }
        world.talking[q].push(call);
    }
    drain(&mut world.engine);
}

fn bench(c: &mut Criterion) {
    let mut world = loaded();
    let mut samples = Vec::with_capacity(1_000_000);
    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); 4];
    let mut group = c.benchmark_group("acd_engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("input_10k_callers_2k_agents_100_queues", |b| {
        let mut step = 0u64;
        b.iter(|| {
            step += 1;
            world.now += 7;
            // Four inputs per queue in turn keep every queue at its size: a caller joins, the
            // oldest gives up (everyone behind moves up), a call ends and its agent takes the
            // head of the queue (offer, answer, bridge), another caller joins.
            let q = (step as usize / 4) % QUEUES;
            let now = world.now;
            let started = Instant::now();
            match step % 4 {
                0 | 3 => arrive(&mut world, q),
                1 => {
                    if let Some(call) = world.waiting[q].pop_front() {
                        world.engine.caller_hung_up(now, &call);
                    }
                }
                _ => {
                    if !world.talking[q].is_empty() {
                        let call = world.talking[q].swap_remove(0);
                        world.engine.caller_hung_up(now, &call);
                    }
                }
            }
            world.engine.tick(now);
            let spent = started.elapsed();
            samples.push(spent);
            by_kind[(step % 4) as usize].push(spent);
            connect(&mut world, q);
        });
    });
    group.finish();
    for (kind, spent) in [
        "caller joins",
        "caller gives up",
        "call ends, next offered",
        "caller joins",
    ]
    .iter()
    .zip(by_kind.iter_mut())
    .skip(1)
    {
        spent.sort();
        let at = |p: f64| spent[((spent.len() as f64 - 1.0) * p) as usize];
        println!("acd_engine {kind}: p50 {:?}, p99 {:?}", at(0.5), at(0.99));
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "acd_engine per input over {} inputs: p50 {:?}, p99 {:?}, max {:?}; {} waiting, {} talking",
        samples.len(),
        pct(0.50),
        pct(0.99),
        samples.last().copied().unwrap_or_default(),
        world.waiting.iter().map(VecDeque::len).sum::<usize>(),
        world.talking.iter().map(Vec::len).sum::<usize>(),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
