//! Queue-engine scenarios with synthetic time: what the engine asks of the switch, in order.
//! No sleeps, no sockets; each test runs in microseconds.

use std::collections::HashMap;

use switchdesk::acd::stats::{AgentTotals, Counters, PromisedWait};
use switchdesk::acd::{
    AcdError, Action, AgentConfig, AgentStatus, CallerArrival, Departure, Engine, LineCallback,
    Membership, NoAgents, Overflow, QueueConfig, Remember, Strategy, Update,
};
use switchdesk::clock::{self, Millis};

const T0: Millis = 1_800_000_000_000;

fn secs(s: u64) -> Millis {
    T0 + clock::secs(s)
}

struct Desk {
    engine: Engine,
    actions: Vec<Action>,
    updates: Vec<Update>,
}

impl Desk {
    fn new(queue: QueueConfig) -> Desk {
        let mut engine = Engine::new(7);
        engine.set_queue(T0, queue).unwrap();
        Desk {
            engine,
            actions: Vec::new(),
            updates: Vec::new(),
        }
    }

    fn queue(name: &str, strategy: Strategy) -> QueueConfig {
        let mut q = QueueConfig::named(name);
        q.strategy = strategy;
        q.wrap_up_secs = 5;
        q
    }

    fn agent(&mut self, name: &str, queue: &str, tier: u32, position: u32) {
        self.agent_at(T0, name, queue, tier, position);
    }

    fn agent_at(&mut self, now: Millis, name: &str, queue: &str, tier: u32, position: u32) {
        let config = AgentConfig {
            name: name.into(),
            endpoint: format!("user/{name}@default").parse().unwrap(),
            queues: vec![Membership {
                queue: queue.into(),
                tier,
                position,
            }],
        };
        self.engine.set_agent(now, config).unwrap();
        self.engine
            .set_agent_status(now, name, AgentStatus::Available)
            .unwrap();
        self.drain();
    }

    fn caller(&mut self, now: Millis, call: &str, queue: &str, number: &str) {
        self.caller_with(
            now,
            CallerArrival {
                call: call.into(),
                queue: queue.into(),
                number: number.into(),
                name: format!("Caller {call}"),
                ..Default::default()
            },
        );
    }

    fn caller_with(&mut self, now: Millis, arrival: CallerArrival) {
        self.engine.caller_arrived(now, arrival).unwrap();
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            self.actions.push(a);
        }
        while let Some(u) = self.engine.poll_update() {
            self.updates.push(u);
        }
    }

    fn take(&mut self) -> Vec<Action> {
        self.drain();
        std::mem::take(&mut self.actions)
    }

    fn updates(&mut self) -> Vec<Update> {
        self.drain();
        std::mem::take(&mut self.updates)
    }

    /// The legs rung since the last take, as (leg, agent, call).
    fn rung(&mut self) -> Vec<(String, String, String)> {
        self.take()
            .into_iter()
            .filter_map(|a| match a {
                Action::RingAgent {
                    leg, agent, call, ..
                } => Some((leg, agent, call)),
                _ => None,
            })
            .collect()
    }

    fn tick(&mut self, now: Millis) {
        self.engine.tick(now);
        self.drain();
    }

    /// Agent answers, the bridge is made, and the call is connected.
    fn connect(&mut self, now: Millis, leg: &str, call: &str) {
        self.engine.leg_answered(now, leg);
        self.drain();
        assert!(
            self.actions.contains(&Action::Bridge {
                call: call.into(),
                leg: leg.into()
            }),
            "{:?}",
            self.actions
        );
        self.engine.bridged(now, call);
        self.drain();
    }

    fn positions(&self, now: Millis, queue: &str) -> Vec<(String, u32)> {
        self.engine
            .queue(now, queue)
            .unwrap()
            .waiting
            .into_iter()
            .map(|w| (w.call, w.position))
            .collect()
    }
}

fn announced(actions: &[Action]) -> Vec<(String, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Announce { call, position, .. } => Some((call.clone(), *position)),
            _ => None,
        })
        .collect()
}

#[test]
fn one_caller_one_agent_from_park_to_wrap_up() {
    let mut desk = Desk::new(Desk::queue("support", Strategy::LongestIdle));
    desk.agent("alice", "support", 1, 1);
    desk.caller(secs(0), "c1", "support", "+15550001");
    let actions = desk.take();
    assert_eq!(actions[0], Action::Answer { call: "c1".into() });
    assert_eq!(
        actions[1],
        Action::Remember {
            call: "c1".into(),
            what: Remember::EnqueuedAt(secs(0))
        }
    );
    assert_eq!(
        actions[2],
        Action::Remember {
            call: "c1".into(),
            what: Remember::Priority(0)
        }
    );
    // The agent's phone rings before the caller hears the position announcement.
    assert_eq!(
        actions[4],
        Action::Announce {
            call: "c1".into(),
            queue: "support".into(),
            position: 1,
            wait_minutes: None
        }
    );
    let Action::RingAgent {
        leg,
        agent,
        endpoint,
        caller_number,
        caller_name,
        timeout_secs,
        ..
    } = &actions[3]
    else {
        panic!("{actions:?}")
    };
    assert_eq!(
        (agent.as_str(), endpoint.as_str()),
        ("alice", "user/alice@default")
    );
    assert_eq!(
        (caller_number.as_str(), caller_name.as_str(), *timeout_secs),
        ("+15550001", "Caller c1", 20)
    );
    let leg = leg.clone();

    desk.connect(secs(3), &leg, "c1");
    let q = desk.engine.queue(secs(3), "support").unwrap();
    assert!(q.waiting.is_empty());
    assert_eq!(q.counters.answered, 1);
    assert_eq!(q.counters.average_speed_of_answer_secs, Some(3.0));
    assert_eq!(q.agents[0].activity, "in_call");

    desk.engine.caller_hung_up(secs(63), "c1");
    let updates = desk.updates();
    assert!(updates.contains(&Update::Ended {
        queue: "support".into(),
        call: "c1".into(),
        agent: "alice".into(),
        talk_ms: 60_000
    }));
    let alice = desk.engine.agent("alice").unwrap();
    assert_eq!(alice.activity, "wrap_up");
    // The desktop counts down to the end of wrap-up (5 s after the hangup).
    assert_eq!(alice.wrap_up_until, Some(secs(68)));
    // Wrap-up ends on its timer, not before.
    desk.tick(secs(67));
    assert_eq!(desk.engine.agent("alice").unwrap().activity, "wrap_up");
    desk.tick(secs(68));
    let alice = desk.engine.agent("alice").unwrap();
    assert_eq!(
        (alice.activity.as_str(), alice.wrap_up_until),
        ("idle", None)
    );
    let q = desk.engine.queue(secs(68), "support").unwrap();
    assert_eq!(q.counters.average_handle_time_secs, Some(60.0));
    assert_eq!(q.counters.service_level, Some(1.0));
}

/// Three agents who each take and finish a call, so their idle times differ.
fn warmed_up(strategy: Strategy) -> Desk {
    let mut desk = Desk::new(Desk::queue("q", strategy));
    for (i, name) in ["a1", "a2", "a3"].iter().enumerate() {
        desk.agent(name, "q", 1, i as u32 + 1);
    }
    desk
}

#[test]
fn longest_idle_agent_gets_the_call() {
    let mut desk = warmed_up(Strategy::LongestIdle);
    // a2 and a3 take calls; a1 has been idle since the start.
    for (n, at) in [(1u64, 10u64), (2, 20)] {
        desk.caller(secs(at), &format!("w{n}"), "q", "+1555000");
        let (leg, agent, call) = desk.rung()[0].clone();
        // All three have been idle since the start; ties go in member order.
        assert_eq!(agent, format!("a{n}"));
        desk.connect(secs(at + 1), &leg, &call);
    }
    desk.engine.caller_hung_up(secs(25), "w1");
    desk.tick(secs(31));
    // a1 (free since 31 s) and a3 (free since the start) are idle: a3 waited longer.
    desk.caller(secs(40), "c3", "q", "+15550003");
    assert_eq!(desk.rung()[0].1, "a3");
}

#[test]
fn round_robin_continues_after_the_last_agent_offered() {
    let mut desk = warmed_up(Strategy::RoundRobin);
    let mut order = Vec::new();
    for n in 0..4u64 {
        desk.caller(secs(n * 100), &format!("c{n}"), "q", "+15550001");
        let (leg, agent, call) = desk.rung()[0].clone();
        order.push(agent);
        desk.connect(secs(n * 100 + 1), &leg, &call);
        desk.engine.caller_hung_up(secs(n * 100 + 10), &call);
        desk.tick(secs(n * 100 + 20));
    }
    assert_eq!(order, ["a1", "a2", "a3", "a1"]);
}

#[test]
fn ring_all_rings_everyone_and_the_first_answer_wins() {
    let mut desk = warmed_up(Strategy::RingAll);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let rung = desk.rung();
    assert_eq!(
        rung.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["a1", "a2", "a3"]
    );
    desk.engine.leg_answered(secs(2), &rung[1].0);
    let actions = desk.take();
    assert!(actions.contains(&Action::CancelLeg {
        leg: rung[0].0.clone(),
        cause: "LOSE_RACE".into()
    }));
    assert!(actions.contains(&Action::CancelLeg {
        leg: rung[2].0.clone(),
        cause: "LOSE_RACE".into()
    }));
    assert!(actions.contains(&Action::Bridge {
        call: "c1".into(),
        leg: rung[1].0.clone()
    }));
    // The losers are free again at once (no penalty), the winner is in the call.
    let q = desk.engine.queue(secs(2), "q").unwrap();
    let activity: Vec<&str> = q.agents.iter().map(|a| a.activity.as_str()).collect();
    assert_eq!(activity, ["idle", "in_call", "idle"]);
}

#[test]
fn fewest_calls_and_least_talk_time_balance_the_load() {
    for strategy in [Strategy::FewestCalls, Strategy::LeastTalkTime] {
        let mut desk = warmed_up(strategy);
        // a1 takes a long call; a2 a short one.
        desk.caller(secs(0), "c1", "q", "+15550001");
        let (leg1, agent1, _) = desk.rung()[0].clone();
        desk.connect(secs(1), &leg1, "c1");
        desk.caller(secs(2), "c2", "q", "+15550002");
        let (leg2, agent2, _) = desk.rung()[0].clone();
        desk.connect(secs(3), &leg2, "c2");
        desk.engine.caller_hung_up(secs(13), "c2");
        desk.engine.caller_hung_up(secs(301), "c1");
        desk.tick(secs(400));
        assert_ne!(agent1, agent2);
        // a3 never took a call: both strategies pick a3 first.
        desk.caller(secs(500), "c3", "q", "+15550003");
        let (leg3, agent3, _) = desk.rung()[0].clone();
        assert_eq!(agent3, "a3", "{strategy:?}");
        desk.connect(secs(501), &leg3, "c3");
        // Next: fewest calls is a tie broken by order (a1); least talk time prefers a2 (10 s).
        desk.caller(secs(502), "c4", "q", "+15550004");
        let expected = if strategy == Strategy::FewestCalls {
            agent1.clone()
        } else {
            agent2.clone()
        };
        assert_eq!(desk.rung()[0].1, expected, "{strategy:?}");
    }
}

#[test]
fn linear_always_starts_from_the_top() {
    let mut desk = warmed_up(Strategy::Linear);
    for n in 0..3u64 {
        desk.caller(secs(n * 100), &format!("c{n}"), "q", "+15550001");
        let (leg, agent, call) = desk.rung()[0].clone();
        assert_eq!(agent, "a1");
        desk.connect(secs(n * 100 + 1), &leg, &call);
        desk.engine.caller_hung_up(secs(n * 100 + 10), &call);
        desk.tick(secs(n * 100 + 20));
    }
    // While a1 is busy, a2 is next from the top.
    desk.caller(secs(1000), "x1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.connect(secs(1001), &leg, "x1");
    desk.caller(secs(1002), "x2", "q", "+15550002");
    assert_eq!(desk.rung()[0].1, "a2");
}

#[test]
fn random_is_deterministic_under_a_seed_and_spreads_calls() {
    let run = || {
        let mut desk = warmed_up(Strategy::Random);
        let mut picks = Vec::new();
        for n in 0..30u64 {
            desk.caller(secs(n * 100), &format!("c{n}"), "q", "+15550001");
            let (leg, agent, call) = desk.rung()[0].clone();
            picks.push(agent);
            desk.connect(secs(n * 100 + 1), &leg, &call);
            desk.engine.caller_hung_up(secs(n * 100 + 10), &call);
            desk.tick(secs(n * 100 + 20));
        }
        picks
    };
    let first = run();
    assert_eq!(first, run());
    for agent in ["a1", "a2", "a3"] {
        assert!(first.iter().any(|a| a == agent), "{first:?}");
    }
}

#[test]
fn higher_tiers_open_only_after_the_caller_waited() {
    let mut q = Desk::queue("q", Strategy::Linear);
    q.tier_wait_secs = 30;
    let mut desk = Desk::new(q);
    desk.agent("first", "q", 1, 1);
    desk.agent("backup", "q", 2, 1);
    desk.caller(secs(0), "c0", "q", "+15550000");
    let (leg, agent, _) = desk.rung()[0].clone();
    assert_eq!(agent, "first");
    desk.connect(secs(1), &leg, "c0");
    // The tier-1 agent is busy: the next caller waits for tier 2 to open at 30 s.
    desk.caller(secs(5), "c1", "q", "+15550001");
    assert!(desk.rung().is_empty());
    assert_eq!(
        desk.engine.next_deadline(),
        Some(secs(35)).min(desk.engine.next_deadline())
    );
    desk.tick(secs(34));
    assert!(desk.rung().is_empty());
    desk.tick(secs(35));
    assert_eq!(desk.rung()[0].1, "backup");
}

#[test]
fn priority_callers_go_first_and_positions_say_so() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.caller(secs(0), "normal1", "q", "+15550001");
    desk.caller(secs(1), "normal2", "q", "+15550002");
    desk.caller_with(
        secs(2),
        CallerArrival {
            call: "vip".into(),
            queue: "q".into(),
            number: "+15550009".into(),
            priority: 10,
            ..Default::default()
        },
    );
    let actions = desk.take();
    assert_eq!(
        announced(&actions),
        [
            ("normal1".into(), 1),
            ("normal2".into(), 2),
            ("vip".into(), 1)
        ]
    );
    assert_eq!(
        desk.positions(secs(3), "q"),
        [
            ("vip".into(), 1),
            ("normal1".into(), 2),
            ("normal2".into(), 3)
        ]
    );
    desk.agent("alice", "q", 1, 1);
    assert_eq!(desk.rung()[0].2, "vip");
}

#[test]
fn announcements_on_entry_on_change_with_a_gap_and_periodically() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.announcements.min_gap_secs = 20;
    q.announcements.periodic_secs = 60;
    let mut desk = Desk::new(q);
    desk.caller(secs(0), "c1", "q", "+15550001");
    desk.caller(secs(1), "c2", "q", "+15550002");
    desk.caller(secs(2), "c3", "q", "+15550003");
    assert_eq!(
        announced(&desk.take()),
        [("c1".into(), 1), ("c2".into(), 2), ("c3".into(), 3)]
    );

    // c1 gives up at 10 s: c2 and c3 moved up, but heard their position less than 20 s ago.
    desk.engine.caller_hung_up(secs(10), "c1");
    assert!(announced(&desk.take()).is_empty());
    desk.tick(secs(20));
    assert!(announced(&desk.take()).is_empty());
    // Once the gap has passed (within the queue's second), each hears the new place.
    desk.tick(secs(23));
    assert_eq!(
        announced(&desk.take()),
        [("c2".into(), 1), ("c3".into(), 2)]
    );
    // Then periodically, 60 s after the last announcement, with the position still true.
    desk.tick(secs(80));
    assert!(announced(&desk.take()).is_empty());
    desk.tick(secs(84));
    assert_eq!(
        announced(&desk.take()),
        [("c2".into(), 1), ("c3".into(), 2)]
    );
    // Every announcement names the caller's true position at that moment.
    let truth = desk.positions(secs(82), "q");
    desk.tick(secs(82));
    for (call, position) in announced(&desk.take()) {
        assert!(truth.contains(&(call, position)));
    }
}

/// A caller who hung up calls again within the resume window and takes the old place,
/// ahead of those who came later: they moved back (1 → 2, 2 → 3) and hear it, as callers who
/// move up do, once the gap since their last announcement has passed.
#[test]
fn callers_pushed_back_by_a_returning_caller_hear_their_new_place() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.announcements.min_gap_secs = 5;
    q.announcements.periodic_secs = 0;
    let mut desk = Desk::new(q);
    desk.caller(secs(0), "first", "q", "+15550001");
    desk.engine.caller_hung_up(secs(1), "first");
    desk.caller(secs(2), "c2", "q", "+15550002");
    desk.caller(secs(3), "c3", "q", "+15550003");
    assert_eq!(
        announced(&desk.take()),
        [("first".into(), 1), ("c2".into(), 1), ("c3".into(), 2)]
    );
    desk.caller(secs(10), "again", "q", "+15550001");
    assert_eq!(
        desk.positions(secs(10), "q"),
        [("again".into(), 1), ("c2".into(), 2), ("c3".into(), 3)]
    );
    desk.tick(secs(11));
    assert_eq!(
        announced(&desk.take()),
        [("again".into(), 1), ("c2".into(), 2), ("c3".into(), 3)]
    );
    // Told once: nothing more while the places hold.
    desk.tick(secs(30));
    assert!(announced(&desk.take()).is_empty());
}

#[test]
fn nothing_is_announced_into_a_call_being_bridged() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.announcements.periodic_secs = 10;
    let mut desk = Desk::new(q);
    desk.agent("alice", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.engine.leg_answered(secs(9), &leg);
    desk.drain();
    // The periodic announcement falls due while the bridge is being made.
    desk.tick(secs(10));
    desk.tick(secs(30));
    let actions = desk.take();
    assert!(
        announced(&actions).iter().all(|(c, _)| c != "c1"),
        "{actions:?}"
    );
    assert!(actions.contains(&Action::Bridge {
        call: "c1".into(),
        leg
    }));
}

/// Queue `q` with alice, who answered four calls of two minutes each, one every 200 s, and
/// is busy with a fifth (`busy`, answered at 801 s): five answers in 801 s.
fn busy_with_history() -> Desk {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.agent("alice", "q", 1, 1);
    for n in 0..4u64 {
        let call = format!("h{n}");
        desk.caller(secs(n * 200), &call, "q", "+15550001");
        let (leg, _, _) = desk.rung()[0].clone();
        desk.connect(secs(n * 200 + 1), &leg, &call);
        desk.engine.caller_hung_up(secs(n * 200 + 121), &call);
        desk.tick(secs(n * 200 + 130));
    }
    desk.caller(secs(800), "busy", "q", "+15550002");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.connect(secs(801), &leg, "busy");
    desk.take();
    desk.updates();
    desk
}

#[test]
fn expected_wait_is_announced_once_the_queue_has_history() {
    // alice is busy: the next two callers wait; the second hears position 2.
    let mut desk = busy_with_history();
    desk.caller(secs(802), "w1", "q", "+15550003");
    desk.caller(secs(803), "w2", "q", "+15550004");
    let waits: Vec<Option<u32>> = desk
        .take()
        .into_iter()
        .filter_map(|a| match a {
            Action::Announce { wait_minutes, .. } => Some(wait_minutes),
            _ => None,
        })
        .collect();
    assert_eq!(waits.len(), 2);
    assert!(waits.iter().all(|w| w.is_some()), "{waits:?}");
    assert!(waits[1] >= waits[0]);
}

#[test]
fn a_caller_told_an_expected_wait_is_recorded_with_the_first_promise_when_answered() {
    let mut desk = busy_with_history();
    // Five answers in 801 s: the first caller in line waits 160 s, told as 3 minutes.
    desk.caller(secs(802), "w1", "q", "+15550003");
    desk.caller(secs(803), "w2", "q", "+15550004");
    let told: Vec<(String, Option<u32>)> = desk
        .take()
        .into_iter()
        .filter_map(|a| match a {
            Action::Announce {
                call, wait_minutes, ..
            } => Some((call, wait_minutes)),
            _ => None,
        })
        .collect();
    assert_eq!(told[0], ("w1".to_owned(), Some(3)), "{told:?}");
    // Told again a minute later (whatever the estimate is then): the first promise stands.
    desk.tick(secs(870));
    assert!(!announced(&desk.take()).is_empty());
    // The second caller gives up: no promise is recorded for an abandon.
    desk.engine.caller_hung_up(secs(880), "w2");
    // alice is free after the call and its wrap-up; w1 is answered 108 s after the promise.
    desk.engine.caller_hung_up(secs(900), "busy");
    desk.tick(secs(906));
    let (leg, _, _) = desk.rung()[0].clone();
    desk.connect(secs(910), &leg, "w1");
    let promised: Vec<PromisedWait> = desk
        .updates()
        .into_iter()
        .filter_map(|u| match u {
            Update::WaitPromised(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(
        promised,
        vec![PromisedWait {
            queue: "q".into(),
            call: "w1".into(),
            told_at: secs(802),
            promised_ms: 180_000,
            answered_at: secs(910),
        }]
    );
    assert_eq!(promised[0].actual_ms(), 108_000);
    assert_eq!(promised[0].error(), Some(-0.4));
}

#[test]
fn callback_keeps_the_place_reserves_the_agent_then_calls_the_customer() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.callbacks.key = Some('1');
    q.callbacks.dial = "sofia/gateway/pstn/{number}".parse().unwrap();
    let mut desk = Desk::new(q);
    desk.caller(secs(0), "first", "q", "+15550001");
    desk.caller(secs(1), "second", "q", "+15550002");
    desk.take();
    desk.engine.dtmf(secs(5), "first", '1');
    let actions = desk.take();
    assert_eq!(
        actions,
        [Action::ConfirmCallback {
            call: "first".into(),
            queue: "q".into()
        }]
    );
    // Its hangup is not an abandon, and the place is kept.
    desk.engine.caller_hung_up(secs(8), "first");
    let view = desk.engine.queue(secs(9), "q").unwrap();
    assert_eq!(view.counters.abandoned, 0);
    assert_eq!(view.counters.callbacks, 1);
    assert_eq!(
        (view.waiting[0].call.as_str(), view.waiting[0].callback),
        ("first", true)
    );
    assert_eq!(view.counters.callbacks_pending, 1);

    // An agent comes: the callback is first in line, so the agent is rung first...
    desk.agent_at(secs(10), "alice", "q", 1, 1);
    let (agent_leg, _, call) = desk.rung()[0].clone();
    assert_eq!(call, "first");
    // ...and only once the agent answered is the customer dialled.
    assert!(desk.engine.awaits_answer(&agent_leg));
    desk.engine.leg_answered(secs(20), &agent_leg);
    assert!(!desk.engine.awaits_answer(&agent_leg));
    let actions = desk.take();
    let Some(Action::DialCustomer {
        leg: customer,
        dial,
        ..
    }) = actions
        .iter()
        .find(|a| matches!(a, Action::DialCustomer { .. }))
        .cloned()
    else {
        panic!("{actions:?}")
    };
    assert_eq!(dial.as_str(), "sofia/gateway/pstn/+15550001");
    // The switch tells of the answer twice (the leg parks, the originate's job ends): the
    // switchboard passes on the first only, and the customer is bridged once.
    assert!(desk.engine.awaits_answer(&customer));
    desk.engine.leg_answered(secs(25), &customer);
    assert!(!desk.engine.awaits_answer(&customer));
    assert_eq!(
        desk.take(),
        [Action::Bridge {
            call: customer.clone(),
            leg: agent_leg.clone()
        }]
    );
    desk.engine.bridged(secs(25), &customer);
    assert!(desk.updates().contains(&Update::CallbackDone {
        queue: "q".into(),
        id: "first".into(),
        reached: true
    }));
    assert_eq!(desk.positions(secs(26), "q"), [("second".into(), 1)]);
    desk.engine.caller_hung_up(secs(85), &customer);
    assert!(desk.updates().iter().any(|u| matches!(
        u,
        Update::Ended {
            talk_ms: 60_000,
            ..
        }
    )));
}

/// Caller `c` of queue `q` asked for a callback (`*`) and hung up while agent alice was on a
/// break; alice is back at 3 s. Retries fall 100 s apart, at most `attempts` of them.
fn callback_waiting_for_alice(attempts: u32) -> Desk {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.callbacks.key = Some('*');
    q.callbacks.attempts = attempts;
    q.callbacks.retry_secs = 100;
    q.wrap_up_secs = 0;
    let mut desk = Desk::new(q);
    desk.agent("alice", "q", 1, 1);
    desk.engine
        .set_agent_status(T0, "alice", AgentStatus::OnBreak("lunch".into()))
        .unwrap();
    desk.caller(secs(0), "c", "q", "+15550001");
    desk.engine.dtmf(secs(1), "c", '*');
    desk.engine.caller_hung_up(secs(2), "c");
    desk.engine
        .set_agent_status(secs(3), "alice", AgentStatus::Available)
        .unwrap();
    desk
}

/// The due callback rings alice at `due`, she answers at `answered`: her leg and the
/// customer leg then dialled.
fn alice_answers_the_callback(desk: &mut Desk, due: Millis, answered: Millis) -> (String, String) {
    desk.tick(due);
    let (agent_leg, _, _) = desk.rung()[0].clone();
    desk.engine.leg_answered(answered, &agent_leg);
    let customer = desk
        .take()
        .into_iter()
        .find_map(|a| match a {
            Action::DialCustomer { leg, .. } => Some(leg),
            _ => None,
        })
        .unwrap();
    (agent_leg, customer)
}

#[test]
fn an_unreachable_callback_is_retried_then_given_up() {
    let mut desk = callback_waiting_for_alice(2);
    for attempt in 0..2u64 {
        // Each retry falls due 100 s after the failed attempt (1 s after its start).
        let at = secs(3 + attempt * 101);
        let (agent_leg, customer) = alice_answers_the_callback(&mut desk, at, at);
        desk.engine.leg_failed(at + 1000, &customer, "NO_ANSWER");
        let actions = desk.take();
        assert!(
            actions.contains(&Action::CancelLeg {
                leg: agent_leg,
                cause: "NORMAL_CLEARING".into()
            }),
            "{actions:?}"
        );
        // The agent is free for others at once.
        assert_eq!(desk.engine.agent("alice").unwrap().activity, "idle");
    }
    let updates = desk.updates();
    assert!(updates.contains(&Update::CallbackDone {
        queue: "q".into(),
        id: "c".into(),
        reached: false
    }));
    assert!(desk
        .engine
        .queue(secs(400), "q")
        .unwrap()
        .waiting
        .is_empty());
}

/// The agent answers a callback and hangs up before the customer is connected: the attempt
/// failed (counted, retried later), and nothing is played to the callback, which has no
/// channel.
#[test]
fn an_agent_hanging_up_before_a_callback_connects_fails_the_attempt() {
    let mut desk = callback_waiting_for_alice(3);
    let (agent_leg, customer) = alice_answers_the_callback(&mut desk, secs(3), secs(4));
    desk.updates();
    desk.engine
        .leg_failed(secs(5), &agent_leg, "NORMAL_CLEARING");
    let actions = desk.take();
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::HoldMusic { call, .. } if call == "c")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&Action::CancelLeg {
            leg: customer,
            cause: "NORMAL_CLEARING".into()
        }),
        "{actions:?}"
    );
    let updates = desk.updates();
    assert!(
        updates.iter().any(|u| matches!(
            u,
            Update::CallbackQueued { id, attempts: 1, not_before, .. }
                if id == "c" && *not_before == secs(105)
        )),
        "{updates:?}"
    );
    // Not offered again before the retry falls due.
    desk.tick(secs(50));
    assert!(desk.rung().is_empty());
    desk.tick(secs(105));
    assert_eq!(desk.rung().len(), 1);
}

#[test]
fn max_wait_overflows_to_an_extension_or_another_queue() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.max_wait_secs = 60;
    q.overflow = Overflow::Extension("voicemail".parse().unwrap());
    let mut desk = Desk::new(q);
    desk.caller(secs(0), "c1", "q", "+15550001");
    desk.take();
    desk.tick(secs(59));
    assert!(desk.take().is_empty());
    desk.tick(secs(60));
    assert_eq!(
        desk.take(),
        [Action::Transfer {
            call: "c1".into(),
            extension: "voicemail".parse().unwrap()
        }]
    );
    assert_eq!(
        desk.engine
            .queue(secs(61), "q")
            .unwrap()
            .counters
            .overflowed,
        1
    );

    // Into another queue: the caller keeps the original arrival time there.
    let mut first = Desk::queue("first", Strategy::LongestIdle);
    first.max_wait_secs = 30;
    first.overflow = Overflow::Queue("second".into());
    let mut desk = Desk::new(Desk::queue("second", Strategy::LongestIdle));
    desk.engine.set_queue(T0, first).unwrap();
    desk.caller(secs(10), "already", "second", "+15550002");
    desk.caller(secs(0), "c1", "first", "+15550001");
    desk.tick(secs(30));
    assert_eq!(
        desk.positions(secs(31), "second"),
        [("c1".into(), 1), ("already".into(), 2)]
    );
    let updates = desk.updates();
    assert!(updates.contains(&Update::CallerLeft {
        queue: "first".into(),
        id: "c1".into(),
        departure: Departure::Overflowed {
            to: "queue:second".into()
        }
    }));
}

#[test]
fn no_agent_logged_in_sends_callers_to_overflow_when_configured() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.no_agents = NoAgents::Overflow;
    q.overflow = Overflow::Extension("voicemail".parse().unwrap());
    let mut desk = Desk::new(q);
    desk.caller(secs(0), "c1", "q", "+15550001");
    assert!(desk.take().contains(&Action::Transfer {
        call: "c1".into(),
        extension: "voicemail".parse().unwrap()
    }));
    // With an agent logged in (even busy), callers wait; when the last logs out, they overflow.
    desk.agent("alice", "q", 1, 1);
    desk.caller(secs(10), "c2", "q", "+15550002");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.connect(secs(11), &leg, "c2");
    desk.caller(secs(12), "c3", "q", "+15550003");
    assert!(!desk
        .take()
        .iter()
        .any(|a| matches!(a, Action::Transfer { .. })));
    desk.engine
        .set_agent_status(secs(20), "alice", AgentStatus::LoggedOut)
        .unwrap();
    assert!(desk.take().contains(&Action::Transfer {
        call: "c3".into(),
        extension: "voicemail".parse().unwrap()
    }));
}

#[test]
fn exit_key_leaves_for_the_configured_extension() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.exit_key = Some('0');
    q.exit_extension = Some("operator".parse().unwrap());
    let mut desk = Desk::new(q);
    desk.caller(secs(0), "c1", "q", "+15550001");
    desk.take();
    desk.engine.dtmf(secs(3), "c1", '5');
    assert!(desk.take().is_empty());
    desk.engine.dtmf(secs(4), "c1", '0');
    assert_eq!(
        desk.take(),
        [Action::Transfer {
            call: "c1".into(),
            extension: "operator".parse().unwrap()
        }]
    );
    assert!(desk.engine.queue(secs(5), "q").unwrap().waiting.is_empty());
}

#[test]
fn caller_hangs_up_while_the_agent_rings() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.agent("alice", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.engine.caller_hung_up(secs(4), "c1");
    assert_eq!(
        desk.take(),
        [Action::CancelLeg {
            leg: leg.clone(),
            cause: "ORIGINATOR_CANCEL".into()
        }]
    );
    // No penalty for the agent, and the late job result changes nothing.
    desk.engine.leg_failed(secs(4), &leg, "ORIGINATOR_CANCEL");
    assert_eq!(desk.engine.agent("alice").unwrap().activity, "idle");
    desk.caller(secs(5), "c2", "q", "+15550002");
    assert_eq!(desk.rung()[0].1, "alice");
    assert_eq!(
        desk.engine.queue(secs(6), "q").unwrap().counters.abandoned,
        1
    );
}

#[test]
fn busy_rejecting_and_unanswering_agents_are_skipped_backed_off_and_paused() {
    let mut q = Desk::queue("q", Strategy::Linear);
    q.busy_delay_secs = 30;
    q.no_answer_delay_secs = 10;
    q.max_missed_offers = 2;
    let mut desk = Desk::new(q);
    desk.agent("a1", "q", 1, 1);
    desk.agent("a2", "q", 1, 2);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, agent, _) = desk.rung()[0].clone();
    assert_eq!(agent, "a1");
    // a1 is busy: the next agent is rung at once.
    desk.engine.leg_failed(secs(1), &leg, "USER_BUSY");
    let (leg2, agent2, _) = desk.rung()[0].clone();
    assert_eq!(agent2, "a2");
    // a2 does not answer: nobody is free (a1 backs off for 30 s, a2 for 10 s).
    desk.engine.leg_failed(secs(21), &leg2, "NO_ANSWER");
    assert!(desk.rung().is_empty());
    desk.tick(secs(31));
    let (leg3, agent3, _) = desk.rung()[0].clone();
    assert_eq!(agent3, "a1");
    desk.engine
        .leg_failed(secs(32), &leg3, "USER_NOT_REGISTERED");
    desk.tick(secs(33));
    let (leg4, agent4, _) = desk.rung()[0].clone();
    assert_eq!(agent4, "a2");
    // a2's second missed offer in a row pauses them.
    desk.engine.leg_failed(secs(53), &leg4, "NO_ANSWER");
    let a2 = desk.engine.agent("a2").unwrap();
    assert_eq!(a2.status, AgentStatus::OnBreak("missed 2 offers".into()));
}

#[test]
fn the_switch_timing_out_a_ring_is_the_safety_net() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.agent("alice", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    // No job result ever comes (the connection dropped): after ring timeout + 5 s, move on.
    desk.tick(secs(25));
    let actions = desk.take();
    assert!(
        actions.contains(&Action::CancelLeg {
            leg,
            cause: "ALLOTTED_TIMEOUT".into()
        }),
        "{actions:?}"
    );
    assert_eq!(desk.positions(secs(26), "q"), [("c1".into(), 1)]);
}

#[test]
fn agent_hangs_up_before_the_bridge_and_the_caller_keeps_the_place() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.agent("alice", "q", 1, 1);
    desk.agent("bob", "q", 1, 2);
    desk.caller(secs(0), "c1", "q", "+15550001");
    desk.caller(secs(1), "c2", "q", "+15550002");
    let rung = desk.rung();
    let leg = rung.iter().find(|r| r.2 == "c1").unwrap().0.clone();
    desk.engine.leg_answered(secs(3), &leg);
    desk.take();
    desk.engine.leg_failed(secs(4), &leg, "NORMAL_CLEARING");
    let actions = desk.take();
    assert!(
        actions.contains(&Action::HoldMusic {
            call: "c1".into(),
            queue: "q".into()
        }),
        "{actions:?}"
    );
    assert_eq!(desk.positions(secs(5), "q")[0], ("c1".into(), 1));

    // uuid_bridge refused: the same.
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.agent("alice", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.engine.leg_answered(secs(3), &leg);
    desk.take();
    desk.engine.bridge_failed(secs(3), "c1", false);
    let actions = desk.take();
    assert!(actions.contains(&Action::CancelLeg {
        leg,
        cause: "NORMAL_TEMPORARY_FAILURE".into()
    }));
    assert!(actions.contains(&Action::HoldMusic {
        call: "c1".into(),
        queue: "q".into()
    }));
}

/// A caller who hung up while the agent answered: the bridge is refused (`-ERR Invalid uuid`)
/// and FreeSWITCH no longer has the channel, though it lingers in CS_REPORTING. The caller
/// left: never back in line, never offered again; the agent's leg is hung up and the agent
/// is free for the next caller.
#[test]
fn a_refused_bridge_to_a_caller_who_is_gone_is_an_abandon_not_a_requeue() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.agent("alice", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.engine.leg_answered(secs(3), &leg);
    desk.take();
    desk.updates();
    desk.engine.bridge_failed(secs(3), "c1", true);
    let actions = desk.take();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CancelLeg { leg: l, .. } if *l == leg)),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| matches!(
            a,
            Action::HoldMusic { .. } | Action::RingAgent { .. } | Action::Bridge { .. }
        )),
        "{actions:?}"
    );
    let updates = desk.updates();
    assert!(
        updates.iter().any(|u| matches!(
            u,
            Update::CallerLeft { id, departure: Departure::Abandoned, .. } if id == "c1"
        )),
        "{updates:?}"
    );
    assert!(desk.positions(secs(4), "q").is_empty());
    // The freed agent takes the next caller at once.
    desk.caller(secs(5), "c2", "q", "+15550002");
    let rung = desk.rung();
    assert_eq!(rung.len(), 1, "{rung:?}");
    assert_eq!((rung[0].1.as_str(), rung[0].2.as_str()), ("alice", "c2"));
}

#[test]
fn a_caller_who_hung_up_and_calls_again_resumes_the_old_place() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    desk.caller(secs(0), "first", "q", "+15550001");
    desk.caller(secs(10), "second", "q", "+15550002");
    desk.engine.caller_hung_up(secs(30), "first");
    desk.caller(secs(60), "again", "q", "+15550001");
    assert_eq!(
        desk.positions(secs(61), "q"),
        [("again".into(), 1), ("second".into(), 2)]
    );
    // Not after the resume window (120 s by default).
    desk.engine.caller_hung_up(secs(70), "again");
    desk.caller(secs(400), "late", "q", "+15550001");
    assert_eq!(
        desk.positions(secs(401), "q"),
        [("second".into(), 1), ("late".into(), 2)]
    );
}

/// Re-adopted arrival times come from channel variables anyone with the switch could set: one
/// in the far future counts as now, one from long ago as a day ago. With a 10-minute max wait,
/// neither overflows at once, and positions stay in arrival order.
#[test]
fn readopted_arrival_times_are_clamped_to_the_last_day() {
    let mut q = Desk::queue("q", Strategy::LongestIdle);
    q.max_wait_secs = 600;
    q.overflow = Overflow::Extension("voicemail".parse().unwrap());
    let mut desk = Desk::new(q);
    desk.agent("alice", "q", 1, 1);
    for (call, at) in [
        ("future", Millis::MAX),
        ("ancient", 1),
        ("recent", secs(90)),
    ] {
        desk.caller_with(
            secs(100),
            CallerArrival {
                call: call.into(),
                queue: "q".into(),
                number: "+1555".into(),
                enqueued_at: Some(at),
                counted: true,
                answered: true,
                ..Default::default()
            },
        );
    }
    let waiting = desk.engine.queue(secs(100), "q").unwrap().waiting;
    let waited: Vec<(String, u64)> = waiting
        .iter()
        .map(|w| (w.call.clone(), w.waited_secs))
        .collect();
    // Clamped to a day: the ancient one has waited a day and is overdue, the others not.
    assert!(waited.contains(&("future".into(), 0)), "{waited:?}");
    assert!(waited.contains(&("recent".into(), 10)), "{waited:?}");
    assert!(!waited.iter().any(|(_, w)| *w > 86_400), "{waited:?}");
    desk.tick(secs(101));
    let moved: Vec<Action> = desk
        .take()
        .into_iter()
        .filter(|a| matches!(a, Action::Transfer { .. }))
        .collect();
    assert!(
        moved.iter().all(
            |a| matches!(a, Action::Transfer { call, .. } if call != "future" && call != "recent")
        ),
        "{moved:?}"
    );
}

/// Every queue duration has an upper bound, so no deadline computed from one can wrap.
#[test]
fn queue_durations_have_upper_bounds() {
    let mut q = QueueConfig::named("q");
    q.max_wait_secs = u64::MAX;
    q.wrap_up_secs = 7_200;
    q.announcements.periodic_secs = 1 << 40;
    q.callbacks.ring_secs = 0;
    let problems = q.problems();
    for expected in [
        "queue q: max_wait_secs must be at most 86400",
        "queue q: wrap_up_secs must be at most 3600",
        "queue q: announcements.periodic_secs must be at most 3600",
        "queue q: callbacks.ring_secs must be 1-600",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "{expected}: {problems:?}"
        );
    }
    assert!(QueueConfig::named("q").problems().is_empty());
}

#[test]
fn a_restarted_engine_readopts_callers_in_their_original_order() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::LongestIdle));
    // Resync finds the channels in an arbitrary order; their variables carry the truth.
    for (call, at, priority) in [("c3", 30, 0), ("c1", 10, 0), ("vip", 40, 5), ("c2", 20, 0)] {
        desk.caller_with(
            secs(100),
            CallerArrival {
                call: call.into(),
                queue: "q".into(),
                number: "+1555".into(),
                priority,
                enqueued_at: Some(secs(at)),
                counted: true,
                answered: true,
                ..Default::default()
            },
        );
    }
    assert_eq!(
        desk.positions(secs(100), "q"),
        [
            ("vip".into(), 1),
            ("c1".into(), 2),
            ("c2".into(), 3),
            ("c3".into(), 4)
        ]
    );
    let actions = desk.take();
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Answer { .. })),
        "answered callers are not answered again"
    );
    // The process that first queued them counted them, and the day's counters are restored
    // from what it stored: re-adopted callers are not offered twice.
    assert_eq!(
        desk.engine.queue(secs(100), "q").unwrap().counters.offered,
        0
    );
    assert_eq!(
        desk.engine.queue(secs(100), "q").unwrap().waiting[1].waited_secs,
        90
    );
    // A caller who came while no service ran is placed by the channel's creation, behind the
    // earlier ones, and counted now: no run counted them before.
    desk.caller_with(
        secs(100),
        CallerArrival {
            call: "late".into(),
            queue: "q".into(),
            number: "+1556".into(),
            enqueued_at: Some(secs(50)),
            counted: false,
            answered: false,
            ..Default::default()
        },
    );
    let q = desk.engine.queue(secs(100), "q").unwrap();
    assert_eq!(q.counters.offered, 1);
    assert_eq!(q.waiting.last().map(|w| w.call.as_str()), Some("late"));
}

#[test]
fn bad_configuration_is_refused_with_reasons() {
    let mut engine = Engine::new(1);
    let mut q = QueueConfig::named("bad name!");
    q.exit_key = Some('x');
    q.ring_timeout_secs = 0;
    let err = engine.set_queue(T0, q).unwrap_err().to_string();
    assert!(
        err.contains("queue name") && err.contains("exit_key") && err.contains("ring_timeout_secs"),
        "{err}"
    );
    let err = engine
        .set_agent(
            T0,
            AgentConfig {
                name: "a".into(),
                endpoint: "user/1".parse().unwrap(),
                queues: vec![Membership {
                    queue: "nope".into(),
                    tier: 1,
                    position: 1,
                }],
            },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "no queue named \"nope\"");
}

/// Two queues, each with its own agent, for a supervisor's moves.
fn support_and_sales() -> Desk {
    let mut desk = Desk::new(Desk::queue("support", Strategy::LongestIdle));
    desk.engine
        .set_queue(T0, Desk::queue("sales", Strategy::LongestIdle))
        .unwrap();
    desk
}

#[test]
fn a_supervisor_moves_a_ringing_caller_to_sales_where_the_sales_agent_takes_them() {
    let mut desk = support_and_sales();
    desk.agent("alice", "support", 1, 1);
    desk.caller(secs(0), "c1", "support", "+15550001");
    // alice is ringing for c1; c2 waits behind.
    let (alice_leg, _, _) = desk.rung()[0].clone();
    desk.caller(secs(5), "c2", "support", "+15550002");
    desk.take();
    desk.updates();
    desk.agent_at(secs(9), "bob", "sales", 1, 1);
    desk.engine
        .set_agent_status(secs(9), "bob", AgentStatus::OnBreak("coffee".into()))
        .unwrap();
    desk.drain();
    // A sales caller who came after c1 but before the move.
    desk.caller(secs(8), "s1", "sales", "+15550008");
    desk.take();
    desk.updates();

    desk.engine.move_caller(secs(10), "c1", "sales").unwrap();
    let actions = desk.take();
    // alice's ring is cancelled, and she is offered the next support caller at once.
    assert_eq!(
        actions[0],
        Action::CancelLeg {
            leg: alice_leg.clone(),
            cause: "ORIGINATOR_CANCEL".into()
        }
    );
    assert!(actions.iter().any(|a| matches!(a,
        Action::RingAgent { agent, call, .. } if agent == "alice" && call == "c2")));
    // The channel learns its new queue, so a restart re-adopts it there.
    assert!(actions.contains(&Action::Remember {
        call: "c1".into(),
        what: Remember::Queue("sales".into())
    }));
    // c1 arrived before s1, so c1 is first in sales, and is told so.
    assert!(announced(&actions).contains(&("c1".into(), 1)));
    assert_eq!(
        desk.positions(secs(10), "sales"),
        [("c1".into(), 1), ("s1".into(), 2)]
    );
    let updates = desk.updates();
    let left = updates
        .iter()
        .position(|u| {
            *u == Update::CallerLeft {
                queue: "support".into(),
                id: "c1".into(),
                departure: Departure::Moved { to: "sales".into() },
            }
        })
        .expect("left support");
    let joined = updates
        .iter()
        .position(|u| {
            *u == Update::CallerJoined {
                queue: "sales".into(),
                id: "c1".into(),
                number: "+15550001".into(),
                name: "Caller c1".into(),
                priority: 0,
                enqueued_at: secs(0),
                position: 1,
                callback: false,
            }
        })
        .expect("joined sales");
    assert!(left < joined);
    for queue in ["support", "sales"] {
        assert!(updates.contains(&Update::CountersChanged {
            queue: queue.into()
        }));
    }
    let support = desk.engine.queue(secs(10), "support").unwrap();
    assert_eq!(support.counters.moved, 1);
    assert_eq!(support.counters.offered, 2);
    assert_eq!(
        desk.engine
            .queue(secs(10), "sales")
            .unwrap()
            .counters
            .offered,
        2
    );

    // bob comes back: the moved caller is offered first, and waited since the first arrival.
    desk.engine
        .set_agent_status(secs(20), "bob", AgentStatus::Available)
        .unwrap();
    let (bob_leg, bob, call) = desk.rung()[0].clone();
    assert_eq!((bob.as_str(), call.as_str()), ("bob", "c1"));
    desk.connect(secs(22), &bob_leg, "c1");
    assert!(desk.updates().contains(&Update::Connected {
        queue: "sales".into(),
        call: "c1".into(),
        agent: "bob".into(),
        waited_ms: 22_000,
        // Past the queue's 20 s threshold.
        within_sl: false,
    }));
    // alice's cancelled leg reporting its hangup later changes nothing.
    desk.engine
        .channel_hung_up(secs(23), &alice_leg, "ORIGINATOR_CANCEL");
    assert_eq!(desk.engine.agent("alice").unwrap().activity, "ringing");
}

#[test]
fn moving_needs_a_waiting_caller_and_a_queue() {
    let mut desk = support_and_sales();
    desk.agent("alice", "support", 1, 1);
    desk.caller(secs(0), "c1", "support", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    assert_eq!(
        desk.engine.move_caller(secs(1), "c1", "billing"),
        Err(AcdError::UnknownQueue("billing".into()))
    );
    assert_eq!(
        desk.engine.move_caller(secs(1), "nobody", "sales"),
        Err(AcdError::UnknownCall("nobody".into()))
    );
    assert_eq!(
        desk.engine.to_front(secs(1), "nobody"),
        Err(AcdError::UnknownCall("nobody".into()))
    );
    // The same queue: nothing to do, nothing sent.
    desk.engine.move_caller(secs(1), "c1", "support").unwrap();
    assert!(desk.take().is_empty());
    desk.connect(secs(2), &leg, "c1");
    assert_eq!(
        desk.engine.move_caller(secs(3), "c1", "sales"),
        Err(AcdError::NotWaiting("c1".into()))
    );
    assert_eq!(
        desk.engine.to_front(secs(3), "c1"),
        Err(AcdError::NotWaiting("c1".into()))
    );
    assert_eq!(
        desk.engine.agent_leg("alice"),
        Ok(("c1".to_string(), leg.clone()))
    );
    assert_eq!(
        desk.engine.agent_leg("bob"),
        Err(AcdError::UnknownAgent("bob".into()))
    );
    desk.engine.caller_hung_up(secs(4), "c1");
    assert_eq!(
        desk.engine.agent_leg("alice"),
        Err(AcdError::NotInCall("alice".into()))
    );
}

#[test]
fn a_moved_caller_gets_the_new_queues_max_wait_from_the_move() {
    let mut desk = support_and_sales();
    let mut sales = Desk::queue("sales", Strategy::LongestIdle);
    sales.max_wait_secs = 60;
    sales.overflow = Overflow::Extension("voicemail".parse().unwrap());
    sales.announcements.periodic_secs = 30;
    desk.engine.set_queue(T0, sales).unwrap();
    desk.caller(secs(0), "c1", "support", "+15550001");
    // Waited 100 s already: more than sales allows, but sales' clock starts at the move.
    desk.engine.move_caller(secs(100), "c1", "sales").unwrap();
    desk.take();
    desk.tick(secs(135));
    assert!(!desk
        .take()
        .iter()
        .any(|a| matches!(a, Action::Transfer { .. })));
    desk.tick(secs(161));
    assert!(desk.take().contains(&Action::Transfer {
        call: "c1".into(),
        extension: "voicemail".parse().unwrap()
    }));
}

#[test]
fn a_caller_put_in_front_is_offered_before_earlier_and_higher_priority_callers() {
    // Announced on entry, and on moving up once 30 s passed since the last announcement.
    let mut desk = Desk::new(Desk::queue("support", Strategy::LongestIdle));
    desk.caller_with(
        secs(0),
        CallerArrival {
            call: "vip".into(),
            queue: "support".into(),
            number: "+15550001".into(),
            name: "VIP".into(),
            priority: 5,
            ..Default::default()
        },
    );
    desk.caller(secs(1), "c2", "support", "+15550002");
    desk.caller(secs(2), "c3", "support", "+15550003");
    desk.take();
    desk.updates();

    desk.engine.to_front(secs(40), "c3").unwrap();
    let actions = desk.take();
    assert!(actions.contains(&Action::Remember {
        call: "c3".into(),
        what: Remember::Priority(6)
    }));
    // Moving up is announced like any move up, and those it passed hear they moved back.
    assert_eq!(
        announced(&actions),
        [("c3".into(), 1), ("vip".into(), 2), ("c2".into(), 3)]
    );
    assert_eq!(
        desk.positions(secs(40), "support"),
        [("c3".into(), 1), ("vip".into(), 2), ("c2".into(), 3)]
    );
    let waiting = desk.engine.queue(secs(40), "support").unwrap().waiting;
    assert_eq!((waiting[0].priority, waiting[0].enqueued_at), (6, secs(2)));
    assert!(desk.updates().contains(&Update::MovedToFront {
        queue: "support".into(),
        id: "c3".into(),
        priority: 6
    }));
    // Already first: nothing changes.
    desk.engine.to_front(secs(41), "c3").unwrap();
    assert!(desk.take().is_empty());

    desk.agent_at(secs(42), "alice", "support", 1, 1);
    let rung = desk.rung();
    assert_eq!(rung.len(), 1);
    assert_eq!(rung[0].2, "c3");
}

/// A queue is removed only when nothing refers to it: its members and the queues that
/// overflow to it are named, and nothing changes until they are gone.
#[test]
fn a_queue_in_use_is_not_removed_and_overflow_targets_must_exist() {
    let mut desk = Desk::new(Desk::queue("sales", Strategy::LongestIdle));
    let mut support = Desk::queue("support", Strategy::LongestIdle);
    support.overflow = Overflow::Queue("sales".into());
    desk.engine.set_queue(T0, support).unwrap();
    desk.agent("olga", "sales", 1, 1);
    assert_eq!(
        desk.engine.remove_queue("sales"),
        Err(AcdError::QueueInUse {
            queue: "sales".into(),
            members: vec!["olga".into()],
            overflowing: vec!["support".into()],
        })
    );
    assert!(desk.engine.queue_config("sales").is_some());
    assert!(desk.engine.agent("olga").is_some());

    let mut nowhere = Desk::queue("billing", Strategy::LongestIdle);
    nowhere.overflow = Overflow::Queue("nowhere".into());
    assert_eq!(
        desk.engine.queue_reference_problems(&nowhere),
        vec!["queue billing: overflow queue \"nowhere\" does not exist".to_owned()]
    );
    nowhere.overflow = Overflow::Queue("billing".into());
    assert_eq!(
        desk.engine.queue_reference_problems(&nowhere),
        vec!["queue billing: overflows to itself".to_owned()]
    );
    nowhere.overflow = Overflow::Queue("sales".into());
    assert!(desk.engine.queue_reference_problems(&nowhere).is_empty());

    // Once olga left and support overflows elsewhere, the queue goes.
    desk.engine.remove_agent(T0, "olga").unwrap();
    let mut support = Desk::queue("support", Strategy::LongestIdle);
    support.overflow = Overflow::Hangup;
    desk.engine.set_queue(T0, support).unwrap();
    desk.engine.remove_queue("sales").unwrap();
    assert!(desk.engine.queue_config("sales").is_none());
}

/// Every change of a queue's counters is told as a delta with its time, so what the
/// statistics store adds up to what the wallboard shows; a short abandon is counted as such.
#[test]
fn counter_changes_are_told_as_deltas_that_add_up_to_the_counters() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::RingAll));
    desk.engine.set_short_abandon_secs(5);
    desk.agent("ann", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.connect(secs(12), &leg, "c1");
    desk.caller(secs(20), "c2", "q", "+15550002");
    desk.engine.caller_hung_up(secs(23), "c2");
    desk.caller(secs(30), "c3", "q", "+15550003");
    desk.engine.caller_hung_up(secs(70), "c3");
    desk.engine.caller_hung_up(secs(100), "c1");
    let mut sum = Counters::default();
    let mut times = Vec::new();
    for update in desk.updates() {
        if let Update::Counted { queue, at, delta } = update {
            assert_eq!(queue, "q");
            times.push(at);
            sum.add(&delta);
        }
    }
    let shown = desk.engine.queue(secs(100), "q").unwrap().counters;
    assert_eq!((sum.offered, shown.offered), (3, 3));
    assert_eq!((sum.answered, shown.answered), (1, 1));
    assert_eq!((sum.abandoned, shown.abandoned), (2, 2));
    assert_eq!(sum.short_abandoned, 1, "c2 hung up after 3 s");
    assert_eq!(sum.total_wait_abandoned_ms, 43_000);
    assert_eq!(sum.total_talk_ms, 88_000);
    assert_eq!(times.first(), Some(&secs(0)));
    assert_eq!(times.last(), Some(&secs(100)));
}

/// A new day replaces the counters and agents' calls with the day's totals so far (zero at
/// the boundary, the stored sums after a restart); the expected wait keeps working.
#[test]
fn a_new_day_replaces_the_counters_with_the_days_totals() {
    let mut desk = Desk::new(Desk::queue("q", Strategy::RingAll));
    desk.agent("ann", "q", 1, 1);
    desk.caller(secs(0), "c1", "q", "+15550001");
    let (leg, _, _) = desk.rung()[0].clone();
    desk.connect(secs(5), &leg, "c1");
    desk.engine.caller_hung_up(secs(65), "c1");
    desk.drain();
    assert_eq!(
        desk.engine.queue(secs(70), "q").unwrap().counters.answered,
        1
    );
    assert_eq!(desk.engine.agent("ann").unwrap().calls, 1);

    let restored = Counters {
        offered: 7,
        answered: 6,
        answered_within_sl: 3,
        ..Counters::default()
    };
    let queues = HashMap::from([("q".to_owned(), restored)]);
    let agents = HashMap::from([(
        "ann".to_owned(),
        AgentTotals {
            calls: 4,
            talk_ms: 240_000,
        },
    )]);
    desk.engine.start_day(&queues, &agents);
    let view = desk.engine.queue(secs(80), "q").unwrap();
    assert_eq!(view.counters.offered, 7);
    assert_eq!(view.counters.service_level, Some(0.5));
    let ann = desk.engine.agent("ann").unwrap();
    assert_eq!((ann.calls, ann.talk_secs), (4, 240));
    assert!(desk
        .updates()
        .contains(&Update::CountersChanged { queue: "q".into() }));

    desk.engine.start_day(&HashMap::new(), &HashMap::new());
    let view = desk.engine.queue(secs(90), "q").unwrap();
    assert_eq!((view.counters.offered, view.counters.answered), (0, 0));
    assert_eq!(desk.engine.agent("ann").unwrap().calls, 0);
}

/// Queue `l1` (first line) with a callback key, and `l2` (second line) whose agent bob is on a
/// break; both dial callbacks through the gateway.
fn two_lines() -> Desk {
    let mut desk = Desk::new({
        let mut q = Desk::queue("l1", Strategy::LongestIdle);
        q.callbacks.key = Some('1');
        q.callbacks.dial = "sofia/gateway/pstn/{number}".parse().unwrap();
        q
    });
    let mut l2 = Desk::queue("l2", Strategy::LongestIdle);
    l2.callbacks.dial = "sofia/gateway/pstn/{number}".parse().unwrap();
    desk.engine.set_queue(T0, l2).unwrap();
    desk.agent("bob", "l2", 1, 1);
    desk.engine
        .set_agent_status(T0, "bob", AgentStatus::OnBreak("meeting".into()))
        .unwrap();
    desk.drain();
    desk
}

#[test]
fn an_escalated_callers_waiting_callback_moves_to_the_lines_queue_keeping_its_place() {
    let mut desk = two_lines();
    desk.caller(secs(0), "c", "l1", "+15550001");
    desk.engine.dtmf(secs(1), "c", '1');
    desk.engine.caller_hung_up(secs(2), "c");
    desk.caller(secs(5), "later", "l2", "+15550002");
    desk.updates();
    let moved = desk
        .engine
        .call_back_from(secs(10), "l2", "+15550001", "unused", secs(0), true)
        .unwrap();
    assert_eq!(
        moved,
        Some(LineCallback::Moved {
            id: "c".into(),
            from: "l1".into(),
            queue: "l2".into()
        })
    );
    // It keeps its place: ahead of the caller who came later to the second line.
    assert_eq!(
        desk.positions(secs(11), "l2"),
        [("c".into(), 1), ("later".into(), 2)]
    );
    assert!(desk.positions(secs(11), "l1").is_empty());
    let updates = desk.updates();
    assert!(updates.iter().any(|u| matches!(u,
        Update::CallbackQueued { queue, id, enqueued_at, .. }
            if queue == "l2" && id == "c" && *enqueued_at == secs(0))));
    assert!(updates.iter().any(|u| matches!(u,
        Update::CallerLeft { queue, departure: Departure::Moved { to }, .. }
            if queue == "l1" && to == "l2")));
    // Asked again, nothing moves.
    assert_eq!(
        desk.engine
            .call_back_from(secs(12), "l2", "+15550001", "unused", secs(0), true)
            .unwrap(),
        Some(LineCallback::AlreadyThere {
            id: "c".into(),
            queue: "l2".into()
        })
    );
    // bob of the second line comes back: he is rung for the callback, then the customer.
    desk.engine
        .set_agent_status(secs(20), "bob", AgentStatus::Available)
        .unwrap();
    let (leg, agent, call) = desk.rung()[0].clone();
    assert_eq!((agent.as_str(), call.as_str()), ("bob", "c"));
    desk.engine.leg_answered(secs(21), &leg);
    assert!(desk.take().iter().any(|a| matches!(a,
        Action::DialCustomer { number, queue, .. } if number == "+15550001" && queue == "l2")));
}

#[test]
fn an_escalated_abandoned_caller_is_queued_for_a_callback_on_the_line_placed_by_their_call() {
    let mut desk = two_lines();
    desk.caller(secs(5), "later", "l2", "+15550002");
    // Nothing waits for the number and nothing is to be created: nothing happens.
    assert_eq!(
        desk.engine
            .call_back_from(secs(10), "l2", "+15550001", "t-1", secs(0), false)
            .unwrap(),
        None
    );
    let queued = desk
        .engine
        .call_back_from(secs(10), "l2", "+15550001", "t-1", secs(0), true)
        .unwrap();
    assert_eq!(
        queued,
        Some(LineCallback::Queued {
            id: "t-1".into(),
            queue: "l2".into()
        })
    );
    let view = desk.engine.queue(secs(11), "l2").unwrap();
    assert_eq!(view.counters.callbacks, 1);
    assert_eq!(
        (view.waiting[0].call.as_str(), view.waiting[0].callback),
        ("t-1", true)
    );
    // Numbers that cannot be dialled and queues that do not exist are refused.
    assert!(desk
        .engine
        .call_back_from(secs(12), "l2", "anonymous", "t-2", secs(0), true)
        .is_err());
    assert!(matches!(
        desk.engine
            .call_back_from(secs(12), "l9", "+15550003", "t-3", secs(0), true),
        Err(AcdError::UnknownQueue(_))
    ));
}
