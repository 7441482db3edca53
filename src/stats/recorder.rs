//! The statistics recorder, pure: the switchboard's `Update`s in, per-interval deltas out.
//! Queue counters come as the engine's own deltas (`Update::Counted`), bucketed by the
//! interval their time falls in; agents' calls (and whether each was answered within its
//! queue's service level) from `Connected`/`Ended`; agents' time in each state from
//! `AgentChanged`, split at interval boundaries; callers' waiting time from
//! `CallerJoined`/`CallerLeft` the same way (live callers only: a callback keeping a place has
//! nobody on the line); answered callers' promises (`WaitPromised`) as they come.
//! [`Recorder::take`] hands over what accumulated since the last take, and
//! [`Recorder::put_back`] returns it after a failed write.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::acd::stats::{Counters, PromisedWait};
use crate::acd::Update;
use crate::clock::{self, Millis};

/// A queue's counters over one interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueInterval {
    pub queue: String,
    /// Unix ms.
    pub start: Millis,
    pub counters: Counters,
    pub waiting: WaitingTime,
}

/// Callers waiting in a queue over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WaitingTime {
    /// Caller-milliseconds on hold: each live caller's time in the queue within the interval,
    /// summed (divided by the interval's length: the average number waiting).
    pub waiting_ms: u64,
    /// The most callers waiting at once.
    pub peak_waiting: u64,
}

impl WaitingTime {
    pub fn add(&mut self, other: &WaitingTime) {
        self.waiting_ms += other.waiting_ms;
        self.peak_waiting = self.peak_waiting.max(other.peak_waiting);
    }
}

/// An agent's calls and time over one interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentInterval {
    pub agent: String,
    pub start: Millis,
    pub time: AgentTime,
}

/// What an agent did over an interval (times in ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AgentTime {
    /// Calls connected to the agent.
    pub calls_answered: u64,
    /// Of those, the calls answered within their queue's service-level threshold.
    pub answered_within_sl: u64,
    /// Talk time of the calls that ended.
    pub talk_ms: u64,
    /// Logged in (available or on a break).
    pub login_ms: u64,
    /// Available and idle, waiting for a call.
    pub available_ms: u64,
    pub ringing_ms: u64,
    pub in_call_ms: u64,
    pub wrap_up_ms: u64,
    pub break_ms: u64,
}

impl AgentTime {
    pub fn add(&mut self, other: &AgentTime) {
        let AgentTime {
            calls_answered,
            answered_within_sl,
            talk_ms,
            login_ms,
            available_ms,
            ringing_ms,
            in_call_ms,
            wrap_up_ms,
            break_ms,
        } = other;
        self.calls_answered += calls_answered;
        self.answered_within_sl += answered_within_sl;
        self.talk_ms += talk_ms;
        self.login_ms += login_ms;
        self.available_ms += available_ms;
        self.ringing_ms += ringing_ms;
        self.in_call_ms += in_call_ms;
        self.wrap_up_ms += wrap_up_ms;
        self.break_ms += break_ms;
    }

    /// Adds `ms` spent in `status` (`logged_out`, `available`, `on_break[:reason]`) doing
    /// `activity` (`idle`, `ringing`, `in_call`, `wrap_up`).
    fn spend(&mut self, status: &str, activity: &str, ms: u64) {
        if status != "logged_out" {
            self.login_ms += ms;
        }
        if status.starts_with("on_break") {
            self.break_ms += ms;
        }
        match activity {
            "idle" if status == "available" => self.available_ms += ms,
            "ringing" => self.ringing_ms += ms,
            "in_call" => self.in_call_ms += ms,
            "wrap_up" => self.wrap_up_ms += ms,
            _ => {}
        }
    }
}

/// What was accumulated since the last take.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deltas {
    pub queues: Vec<QueueInterval>,
    pub agents: Vec<AgentInterval>,
    pub promises: Vec<PromisedWait>,
}

impl Deltas {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.agents.is_empty() && self.promises.is_empty()
    }
}

/// The live callers waiting in a queue, counted up to `from`.
#[derive(Clone, Debug)]
struct Waiting {
    callers: HashSet<String>,
    from: Millis,
}

/// An agent's state, counted up to `from`.
#[derive(Clone, Debug)]
struct State {
    status: String,
    activity: String,
    from: Millis,
}

pub struct Recorder {
    interval_ms: Millis,
    queues: BTreeMap<(String, Millis), (Counters, WaitingTime)>,
    agents: BTreeMap<(String, Millis), AgentTime>,
    states: HashMap<String, State>,
    waiting: HashMap<String, Waiting>,
    promises: Vec<PromisedWait>,
}

impl Recorder {
    pub fn new(interval_ms: Millis) -> Recorder {
        Recorder {
            interval_ms: interval_ms.max(1),
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            states: HashMap::new(),
            waiting: HashMap::new(),
            promises: Vec::new(),
        }
    }

    /// The start of the interval `at` falls in.
    pub fn interval_of(&self, at: Millis) -> Millis {
        at - at.rem_euclid(self.interval_ms)
    }

    /// An agent's state as it is at `at`, counted from then on (at start-up, when the
    /// recorder learns who is logged in).
    pub fn agent_is(&mut self, agent: &str, status: &str, activity: &str, at: Millis) {
        self.states.insert(
            agent.to_owned(),
            State {
                status: status.to_owned(),
                activity: activity.to_owned(),
                from: at,
            },
        );
    }

    /// The live callers waiting in `queue` as they are at `at` (at start-up and after a lag,
    /// from the switchboard's view), counted from then on.
    pub fn queue_has(
        &mut self,
        queue: &str,
        callers: impl IntoIterator<Item = String>,
        at: Millis,
    ) {
        let at = self.accrue_queue(queue, at);
        let callers: HashSet<String> = callers.into_iter().collect();
        self.peak(queue, at, callers.len());
        self.waiting
            .insert(queue.to_owned(), Waiting { callers, from: at });
    }

    /// Records one update; `now` dates those that carry no time of their own.
    pub fn record(&mut self, now: Millis, update: &Update) {
        match update {
            Update::Counted { queue, at, delta } => {
                let start = self.interval_of(*at);
                self.queue_at_interval(queue, start).0.add(delta);
            }
            Update::CallerJoined {
                queue,
                id,
                callback: false,
                ..
            } => {
                let at = self.accrue_queue(queue, now);
                let w = self
                    .waiting
                    .entry(queue.clone())
                    .or_insert_with(|| Waiting {
                        callers: HashSet::new(),
                        from: at,
                    });
                w.callers.insert(id.clone());
                let count = w.callers.len();
                self.peak(queue, at, count);
            }
            Update::CallerLeft { queue, id, .. } => {
                self.accrue_queue(queue, now);
                if let Some(w) = self.waiting.get_mut(queue) {
                    w.callers.remove(id);
                }
            }
            Update::WaitPromised(promise) => self.promises.push(promise.clone()),
            Update::Connected {
                agent, within_sl, ..
            } => {
                let time = self.agent_at(agent, now);
                time.calls_answered += 1;
                time.answered_within_sl += u64::from(*within_sl);
            }
            Update::Ended { agent, talk_ms, .. } => {
                self.agent_at(agent, now).talk_ms += talk_ms;
            }
            Update::AgentChanged {
                agent,
                status,
                activity,
                since,
                ..
            } => {
                let at = self.accrue_agent(agent, *since);
                self.agent_is(agent, status, activity, at);
            }
            _ => {}
        }
    }

    /// Counts every agent's current state and every queue's waiting callers up to `now`, so
    /// what is taken next is current.
    pub fn accrue(&mut self, now: Millis) {
        let agents: Vec<String> = self.states.keys().cloned().collect();
        for agent in agents {
            self.accrue_agent(&agent, now);
        }
        let queues: Vec<String> = self.waiting.keys().cloned().collect();
        for queue in queues {
            self.accrue_queue(&queue, now);
        }
    }

    /// Counts `queue`'s waiting callers up to `to` (never backwards); returns where counting
    /// stopped.
    fn accrue_queue(&mut self, queue: &str, to: Millis) -> Millis {
        let Some(w) = self.waiting.get(queue) else {
            return to;
        };
        let (count, from) = (w.callers.len() as u64, w.from);
        if count > 0 {
            for (start, ms) in self.pieces(from, to) {
                let waiting = &mut self.queue_at_interval(queue, start).1;
                waiting.waiting_ms += ms * count;
                waiting.peak_waiting = waiting.peak_waiting.max(count);
            }
        }
        let stopped = from.max(to);
        if let Some(w) = self.waiting.get_mut(queue) {
            w.from = stopped;
        }
        stopped
    }

    /// `count` callers wait in `queue` at `at`: the interval's peak is at least that.
    fn peak(&mut self, queue: &str, at: Millis, count: usize) {
        if count > 0 {
            let start = self.interval_of(at);
            let waiting = &mut self.queue_at_interval(queue, start).1;
            waiting.peak_waiting = waiting.peak_waiting.max(count as u64);
        }
    }

    fn queue_at_interval(&mut self, queue: &str, start: Millis) -> &mut (Counters, WaitingTime) {
        self.queues.entry((queue.to_owned(), start)).or_default()
    }

    /// Counts `agent`'s state up to `to` (never backwards); returns where counting stopped.
    fn accrue_agent(&mut self, agent: &str, to: Millis) -> Millis {
        let Some(state) = self.states.get(agent).cloned() else {
            return to;
        };
        for (start, ms) in self.pieces(state.from, to) {
            self.agent_at_interval(agent, start)
                .spend(&state.status, &state.activity, ms);
        }
        let stopped = state.from.max(to);
        if let Some(s) = self.states.get_mut(agent) {
            s.from = stopped;
        }
        stopped
    }

    /// `from..to` cut at interval boundaries: each piece's interval start and length.
    fn pieces(&self, from: Millis, to: Millis) -> Vec<(Millis, u64)> {
        let mut pieces = Vec::new();
        let mut at = from;
        while at < to {
            let start = self.interval_of(at);
            let end = (start + self.interval_ms).min(to);
            pieces.push((start, clock::elapsed(at, end)));
            at = end;
        }
        pieces
    }

    fn agent_at(&mut self, agent: &str, at: Millis) -> &mut AgentTime {
        let start = self.interval_of(at);
        self.agent_at_interval(agent, start)
    }

    fn agent_at_interval(&mut self, agent: &str, start: Millis) -> &mut AgentTime {
        self.agents.entry((agent.to_owned(), start)).or_default()
    }

    /// What accumulated since the last take, in (name, start) order.
    pub fn take(&mut self) -> Deltas {
        Deltas {
            queues: std::mem::take(&mut self.queues)
                .into_iter()
                .map(|((queue, start), (counters, waiting))| QueueInterval {
                    queue,
                    start,
                    counters,
                    waiting,
                })
                .collect(),
            agents: std::mem::take(&mut self.agents)
                .into_iter()
                .map(|((agent, start), time)| AgentInterval { agent, start, time })
                .collect(),
            promises: std::mem::take(&mut self.promises),
        }
    }

    /// Deltas taken but not stored: kept for the next take.
    pub fn put_back(&mut self, deltas: Deltas) {
        for q in deltas.queues {
            let (counters, waiting) = self.queue_at_interval(&q.queue, q.start);
            counters.add(&q.counters);
            waiting.add(&q.waiting);
        }
        self.promises.extend(deltas.promises);
        for a in deltas.agents {
            self.agents
                .entry((a.agent, a.start))
                .or_default()
                .add(&a.time);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;
    /// A minute as the agents' time counts it.
    const MIN_MS: u64 = 60_000;
    const FIFTEEN: Millis = 15 * MIN;

    fn counted(queue: &str, at: Millis, change: impl FnOnce(&mut Counters)) -> Update {
        let mut delta = Counters::default();
        change(&mut delta);
        Update::Counted {
            queue: queue.into(),
            at,
            delta,
        }
    }

    fn changed(agent: &str, status: &str, activity: &str, since: Millis) -> Update {
        Update::AgentChanged {
            agent: agent.into(),
            status: status.into(),
            activity: activity.into(),
            since,
            call: None,
        }
    }

    #[test]
    fn queue_deltas_land_in_the_interval_of_their_time() {
        let mut r = Recorder::new(FIFTEEN);
        r.record(0, &counted("q", 14 * MIN, |c| c.offered += 1));
        r.record(0, &counted("q", 14 * MIN + 59_999, |c| c.offered += 1));
        r.record(
            0,
            &counted("q", FIFTEEN, |c| c.record_abandon(3_000, 20, 5_000)),
        );
        r.record(0, &counted("other", FIFTEEN + 1, |c| c.offered += 1));
        let deltas = r.take();
        let rows: Vec<(&str, Millis, u64, u64, u64)> = deltas
            .queues
            .iter()
            .map(|q| {
                let c = &q.counters;
                (
                    q.queue.as_str(),
                    q.start,
                    c.offered,
                    c.abandoned,
                    c.short_abandoned,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("other", FIFTEEN, 1, 0, 0),
                ("q", 0, 2, 0, 0),
                ("q", FIFTEEN, 0, 1, 1),
            ]
        );
        assert!(r.take().is_empty(), "taken once");
    }

    #[test]
    fn agent_state_time_is_split_at_interval_boundaries() {
        let mut r = Recorder::new(FIFTEEN);
        // Logs in at 10 min, rung at 14, talks from 14:30 to 17, wrap-up to 18, break to 31.
        r.record(0, &changed("ann", "available", "idle", 10 * MIN));
        r.record(0, &changed("ann", "available", "ringing", 14 * MIN));
        r.record(
            14 * MIN + 30_000,
            &changed("ann", "available", "in_call", 14 * MIN + 30_000),
        );
        r.record(
            14 * MIN + 30_000,
            &Update::Connected {
                queue: "q".into(),
                call: "c".into(),
                agent: "ann".into(),
                waited_ms: 1,
                within_sl: true,
            },
        );
        r.record(17 * MIN, &changed("ann", "available", "wrap_up", 17 * MIN));
        r.record(
            17 * MIN,
            &Update::Ended {
                queue: "q".into(),
                call: "c".into(),
                agent: "ann".into(),
                talk_ms: 150_000,
            },
        );
        r.record(
            18 * MIN,
            &changed("ann", "on_break:lunch", "idle", 18 * MIN),
        );
        r.accrue(31 * MIN);
        let rows = r.take().agents;
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].start, rows[0].time),
            (
                0,
                AgentTime {
                    calls_answered: 1,
                    answered_within_sl: 1,
                    login_ms: 5 * MIN_MS,
                    available_ms: 4 * MIN_MS,
                    ringing_ms: 30_000,
                    in_call_ms: 30_000,
                    ..AgentTime::default()
                }
            )
        );
        assert_eq!(
            (rows[1].start, rows[1].time),
            (
                FIFTEEN,
                AgentTime {
                    talk_ms: 150_000,
                    login_ms: 15 * MIN_MS,
                    in_call_ms: 2 * MIN_MS,
                    wrap_up_ms: MIN_MS,
                    break_ms: 12 * MIN_MS,
                    ..AgentTime::default()
                }
            )
        );
        assert_eq!(rows[2].time.break_ms, MIN_MS);
        assert_eq!(rows[2].time.login_ms, MIN_MS);
        // Counted once: the next accrual starts where this one stopped.
        r.accrue(31 * MIN);
        assert!(r.take().is_empty());
    }

    #[test]
    fn logged_out_time_counts_nowhere_and_a_failed_write_is_kept() {
        let mut r = Recorder::new(FIFTEEN);
        r.agent_is("bob", "logged_out", "idle", 0);
        r.record(0, &changed("bob", "available", "idle", 5 * MIN));
        r.accrue(6 * MIN);
        let taken = r.take();
        assert_eq!(taken.agents[0].time.login_ms, MIN_MS);
        assert_eq!(taken.agents[0].time.available_ms, MIN_MS);
        r.put_back(taken);
        r.accrue(7 * MIN);
        assert_eq!(r.take().agents[0].time.available_ms, 2 * MIN_MS);
    }

    fn joined(queue: &str, id: &str, callback: bool) -> Update {
        Update::CallerJoined {
            queue: queue.into(),
            id: id.into(),
            number: "+15550001".into(),
            name: String::new(),
            priority: 0,
            enqueued_at: 0,
            position: 1,
            callback,
        }
    }

    fn left(queue: &str, id: &str) -> Update {
        Update::CallerLeft {
            queue: queue.into(),
            id: id.into(),
            departure: crate::acd::Departure::Abandoned,
        }
    }

    #[test]
    fn waiting_callers_are_integrated_per_interval_with_their_peak() {
        let mut r = Recorder::new(FIFTEEN);
        // One caller from 10 min to 20; a second from 12 to 14; a callback (nobody on the
        // line) from 11 on; then after a lag the switchboard shows one caller from 25 on.
        r.record(10 * MIN, &joined("q", "a", false));
        r.record(11 * MIN, &joined("q", "cb", true));
        r.record(12 * MIN, &joined("q", "b", false));
        r.record(14 * MIN, &left("q", "b"));
        r.record(20 * MIN, &left("q", "a"));
        r.queue_has("q", ["c".to_owned()], 25 * MIN);
        r.accrue(31 * MIN);
        let rows = r.take().queues;
        let waiting: Vec<(Millis, WaitingTime)> =
            rows.iter().map(|q| (q.start, q.waiting)).collect();
        assert_eq!(
            waiting,
            vec![
                (
                    0,
                    WaitingTime {
                        waiting_ms: 7 * MIN_MS,
                        peak_waiting: 2
                    }
                ),
                (
                    FIFTEEN,
                    WaitingTime {
                        waiting_ms: 10 * MIN_MS,
                        peak_waiting: 1
                    }
                ),
                (
                    2 * FIFTEEN,
                    WaitingTime {
                        waiting_ms: MIN_MS,
                        peak_waiting: 1
                    }
                ),
            ]
        );
    }

    #[test]
    fn promises_are_handed_over_once_and_kept_after_a_failed_write() {
        let mut r = Recorder::new(FIFTEEN);
        let promise = PromisedWait {
            queue: "q".into(),
            call: "a".into(),
            told_at: MIN,
            promised_ms: 120_000,
            answered_at: 3 * MIN,
        };
        r.record(3 * MIN, &Update::WaitPromised(promise.clone()));
        let taken = r.take();
        assert_eq!(taken.promises, vec![promise.clone()]);
        r.put_back(taken);
        assert_eq!(r.take().promises, vec![promise]);
        assert!(r.take().is_empty());
    }
}
