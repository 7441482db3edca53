//! The wallboard's charts over time, pure: for one queue, a point per stored interval of the
//! span, with the average number of callers waiting and the most at once, the average number
//! of the queue's agents in each state, and the interval's service level. An interval still
//! running is averaged over the part that has passed, so the last point is not diluted.

use std::collections::HashMap;

use serde::Serialize;

use super::recorder::{AgentInterval, AgentTime, QueueInterval};
use crate::clock::{self, Millis};

/// The longest span a chart covers.
pub const MAX_HOURS: u32 = 24;

/// Average agents in each state over an interval (time in the state / interval's length).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct AgentsByState {
    pub available: f64,
    pub ringing: f64,
    pub in_call: f64,
    pub wrap_up: f64,
    pub on_break: f64,
}

/// One interval of a queue's chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryPoint {
    /// The interval's start (Unix ms).
    pub start: Millis,
    /// Average live callers waiting (caller-time on hold / interval's length).
    pub waiting: f64,
    /// The most callers waiting at once.
    pub peak_waiting: u64,
    pub agents: AgentsByState,
    /// Answered within the threshold / answered, of the calls answered in the interval.
    pub service_level: Option<f64>,
    pub answered: u64,
}

/// A queue's chart: its agents (the members now, whose time is charted) and its points.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueHistory {
    pub queue: String,
    pub agents: Vec<String>,
    pub points: Vec<HistoryPoint>,
}

/// The first interval start a chart of the last `hours` shows at `now`.
pub fn span_start(now: Millis, hours: u32, interval_ms: Millis) -> Millis {
    let from = now - clock::ms(u64::from(hours) * 3_600_000);
    from - from.rem_euclid(interval_ms.max(1))
}

/// `queue`'s points from `from` (an interval start) to the interval `now` falls in: every
/// interval has a point, zero where nothing was stored. `queue_rows` and `agent_rows` may hold
/// other queues' and agents' rows; only `queue`'s and `members`' are read.
pub fn queue_history(
    queue: &str,
    members: &[String],
    queue_rows: &[QueueInterval],
    agent_rows: &[AgentInterval],
    (from, now): (Millis, Millis),
    interval_ms: Millis,
) -> QueueHistory {
    let interval_ms = interval_ms.max(1);
    let queues: HashMap<Millis, &QueueInterval> = queue_rows
        .iter()
        .filter(|r| r.queue == queue)
        .map(|r| (r.start, r))
        .collect();
    let mut agents: HashMap<Millis, AgentTime> = HashMap::new();
    for row in agent_rows.iter().filter(|r| members.contains(&r.agent)) {
        agents.entry(row.start).or_default().add(&row.time);
    }
    let mut points = Vec::new();
    let mut start = from;
    while start <= now {
        let length = clock::elapsed(start, (start + interval_ms).min(now)).max(1) as f64;
        let per = |ms: u64| ms as f64 / length;
        let row = queues.get(&start);
        let time = agents.get(&start).copied().unwrap_or_default();
        points.push(HistoryPoint {
            start,
            waiting: per(row.map_or(0, |r| r.waiting.waiting_ms)),
            peak_waiting: row.map_or(0, |r| r.waiting.peak_waiting),
            agents: AgentsByState {
                available: per(time.available_ms),
                ringing: per(time.ringing_ms),
                in_call: per(time.in_call_ms),
                wrap_up: per(time.wrap_up_ms),
                on_break: per(time.break_ms),
            },
            service_level: row.and_then(|r| r.counters.service_level()),
            answered: row.map_or(0, |r| r.counters.answered),
        });
        start += interval_ms;
    }
    QueueHistory {
        queue: queue.to_owned(),
        agents: members.to_vec(),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::stats::Counters;
    use crate::stats::WaitingTime;

    const FIFTEEN: Millis = 15 * 60_000;

    #[test]
    fn each_interval_is_a_point_averaged_over_what_passed_of_it() {
        let t0 = 100 * FIFTEEN;
        let mut counters = Counters::default();
        counters.record_answer(10_000, 20);
        counters.record_answer(30_000, 20);
        let rows = vec![
            QueueInterval {
                queue: "support".into(),
                start: t0,
                counters,
                // Two callers for the whole interval, three at the worst.
                waiting: WaitingTime {
                    waiting_ms: 2 * 900_000,
                    peak_waiting: 3,
                },
            },
            QueueInterval {
                queue: "sales".into(),
                start: t0,
                counters: Counters::default(),
                waiting: WaitingTime {
                    waiting_ms: 900_000,
                    peak_waiting: 1,
                },
            },
        ];
        let agent = |name: &str, start: Millis, in_call_ms: u64, break_ms: u64| AgentInterval {
            agent: name.into(),
            start,
            time: AgentTime {
                in_call_ms,
                break_ms,
                ..AgentTime::default()
            },
        };
        let agents = vec![
            agent("ann", t0, 900_000, 0),
            agent("bob", t0, 450_000, 450_000),
            // Not a member: left out.
            agent("eve", t0, 900_000, 0),
            // Five minutes into the running interval, in a call all along.
            agent("ann", t0 + 2 * FIFTEEN, 300_000, 0),
        ];
        let members = vec!["ann".to_owned(), "bob".to_owned()];
        let now = t0 + 2 * FIFTEEN + 300_000;
        let chart = queue_history("support", &members, &rows, &agents, (t0, now), FIFTEEN);
        let points = &chart.points;
        assert_eq!(points.len(), 3);
        assert_eq!((points[0].waiting, points[0].peak_waiting), (2.0, 3));
        assert_eq!(points[0].agents.in_call, 1.5);
        assert_eq!(points[0].agents.on_break, 0.5);
        assert_eq!(points[0].service_level, Some(0.5));
        // Nothing stored: zero, and no service level to show.
        assert_eq!((points[1].waiting, points[1].service_level), (0.0, None));
        assert_eq!(points[2].agents.in_call, 1.0);
        // An hour back from 35 min past t0 is 25 min before it: from the interval holding that.
        assert_eq!(span_start(now, 1, FIFTEEN), t0 - 2 * FIFTEEN);
    }
}
