//! Per-queue counters with the definitions Asterisk and Wazo use, and the expected-wait estimate
//! from the queue's recent answer rate and handle times.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::clock::{self, Millis};

/// How far back the answer rate looks.
const RATE_WINDOW_MS: Millis = 15 * 60 * 1000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Callers who entered the queue.
    pub offered: u64,
    /// Callers connected to an agent.
    pub answered: u64,
    /// Callers who hung up while waiting (short abandons included).
    pub abandoned: u64,
    /// Abandons after a wait shorter than the short-abandon threshold (a subset of
    /// `abandoned`).
    pub short_abandoned: u64,
    pub overflowed: u64,
    /// Callers a supervisor sent to another queue.
    pub moved: u64,
    /// Callbacks requested.
    pub callbacks: u64,
    pub exited: u64,
    pub answered_within_sl: u64,
    pub abandoned_within_sl: u64,
    pub total_wait_answered_ms: u64,
    pub total_wait_abandoned_ms: u64,
    pub longest_wait_answered_ms: u64,
    /// Calls that ended after being connected, and their talk time.
    pub calls_ended: u64,
    pub total_talk_ms: u64,
}

impl Counters {
    /// Answered within the threshold / answered.
    pub fn service_level(&self) -> Option<f64> {
        ratio(self.answered_within_sl, self.answered)
    }

    /// (Answered + abandoned within the threshold) / (answered + abandoned).
    pub fn service_level_2(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl + self.abandoned_within_sl,
            self.answered + self.abandoned,
        )
    }

    /// Average speed of answer.
    pub fn asa_secs(&self) -> Option<f64> {
        ratio(self.total_wait_answered_ms, self.answered).map(|ms| ms / 1000.0)
    }

    /// Average handle (talk) time.
    pub fn aht_secs(&self) -> Option<f64> {
        ratio(self.total_talk_ms, self.calls_ended).map(|ms| ms / 1000.0)
    }

    /// Answered / (answered + abandoned).
    pub fn answered_rate(&self) -> Option<f64> {
        ratio(self.answered, self.answered + self.abandoned)
    }

    /// Abandoned (short abandons left out) / offered (short abandons left out).
    pub fn abandon_rate(&self) -> Option<f64> {
        ratio(
            self.abandoned.saturating_sub(self.short_abandoned),
            self.offered.saturating_sub(self.short_abandoned),
        )
    }

    /// Average wait of the callers who abandoned.
    pub fn average_abandon_wait_secs(&self) -> Option<f64> {
        ratio(self.total_wait_abandoned_ms, self.abandoned).map(|ms| ms / 1000.0)
    }

    /// Adds `other` (counts and sums; the longest wait is the larger of the two).
    pub fn add(&mut self, other: &Counters) {
        let Counters {
            offered,
            answered,
            abandoned,
            short_abandoned,
            overflowed,
            moved,
            callbacks,
            exited,
            answered_within_sl,
            abandoned_within_sl,
            total_wait_answered_ms,
            total_wait_abandoned_ms,
            longest_wait_answered_ms,
            calls_ended,
            total_talk_ms,
        } = other;
        self.offered += offered;
        self.answered += answered;
        self.abandoned += abandoned;
        self.short_abandoned += short_abandoned;
        self.overflowed += overflowed;
        self.moved += moved;
        self.callbacks += callbacks;
        self.exited += exited;
        self.answered_within_sl += answered_within_sl;
        self.abandoned_within_sl += abandoned_within_sl;
        self.total_wait_answered_ms += total_wait_answered_ms;
        self.total_wait_abandoned_ms += total_wait_abandoned_ms;
        self.longest_wait_answered_ms =
            self.longest_wait_answered_ms.max(*longest_wait_answered_ms);
        self.calls_ended += calls_ended;
        self.total_talk_ms += total_talk_ms;
    }

    pub(crate) fn record_answer(&mut self, waited_ms: u64, sl_secs: u64) {
        self.answered += 1;
        self.total_wait_answered_ms += waited_ms;
        self.longest_wait_answered_ms = self.longest_wait_answered_ms.max(waited_ms);
        if within_service_level(waited_ms, sl_secs) {
            self.answered_within_sl += 1;
        }
    }

    /// An abandon after `waited_ms`; under `short_ms` it is also a short abandon.
    pub(crate) fn record_abandon(&mut self, waited_ms: u64, sl_secs: u64, short_ms: u64) {
        self.abandoned += 1;
        self.total_wait_abandoned_ms += waited_ms;
        if waited_ms < short_ms {
            self.short_abandoned += 1;
        }
        if within_service_level(waited_ms, sl_secs) {
            self.abandoned_within_sl += 1;
        }
    }
}

/// Whether a wait of `waited_ms` is within a service-level threshold of `sl_secs`: the one
/// comparison behind a queue's SL and SL2 and an agent's share of calls answered in time.
pub fn within_service_level(waited_ms: u64, sl_secs: u64) -> bool {
    waited_ms <= sl_secs.saturating_mul(1000)
}

/// The first expected wait a caller was told in a queue (`told_at`, `promised_ms`: the
/// announced whole minutes), and when an agent answered them. The actual wait is the time
/// from the announcement to the answer: what the caller waited after hearing the promise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromisedWait {
    pub queue: String,
    pub call: String,
    pub told_at: Millis,
    pub promised_ms: u64,
    pub answered_at: Millis,
}

impl PromisedWait {
    /// From the announcement to the answer.
    pub fn actual_ms(&self) -> u64 {
        clock::elapsed(self.told_at, self.answered_at)
    }

    /// (actual − promised) / promised: positive when the caller waited longer than told.
    pub fn error(&self) -> Option<f64> {
        (self.promised_ms > 0)
            .then(|| (self.actual_ms() as f64 - self.promised_ms as f64) / self.promised_ms as f64)
    }
}

/// An agent's calls answered and talk time, as the day's start restores them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentTotals {
    pub calls: u64,
    pub talk_ms: u64,
}

/// `part / whole`, none when `whole` is zero.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Recent answers, for the rate at which the queue moves.
#[derive(Clone, Debug, Default)]
pub(crate) struct AnswerRate {
    answers: VecDeque<Millis>,
}

impl AnswerRate {
    pub(crate) fn record(&mut self, now: Millis) {
        self.answers.push_back(now);
        self.prune(now);
    }

    fn prune(&mut self, now: Millis) {
        while self
            .answers
            .front()
            .is_some_and(|&t| t + RATE_WINDOW_MS < now)
        {
            self.answers.pop_front();
        }
        // Bounded however busy the queue is.
        while self.answers.len() > 4096 {
            self.answers.pop_front();
        }
    }

    /// Answers per millisecond over the window, once there are enough to mean something.
    fn per_ms(&self, now: Millis) -> Option<f64> {
        // Kept in time order, so the window starts at a partition point.
        let start = self.answers.partition_point(|&t| t + RATE_WINDOW_MS < now);
        let count = self.answers.len() - start;
        if count < 3 {
            return None;
        }
        let first = self.answers.get(start).copied().unwrap_or(now);
        let span = clock::elapsed(first, now).max(60_000);
        Some(count as f64 / span as f64)
    }
}

/// Expected wait for the caller at `position`, in whole minutes (at least 1): from the recent
/// answer rate when the queue has been moving, else from handle time and the agents on duty.
pub(crate) fn expected_wait_minutes(
    position: u32,
    now: Millis,
    rate: &AnswerRate,
    counters: &Counters,
    agents_on_duty: impl FnOnce() -> usize,
) -> Option<u32> {
    let wait_ms = match rate.per_ms(now) {
        Some(per_ms) => position as f64 / per_ms,
        None => {
            let aht_ms = counters.aht_secs()? * 1000.0;
            // Counted only when the rate cannot answer: it is a pass over the queue's agents.
            let agents_on_duty = agents_on_duty();
            if agents_on_duty == 0 {
                return None;
            }
            position as f64 * aht_ms / agents_on_duty as f64
        }
    };
    Some(((wait_ms / 60_000.0).ceil() as u32).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_levels_follow_the_asterisk_definitions() {
        let mut c = Counters::default();
        c.record_answer(10_000, 20);
        c.record_answer(30_000, 20);
        c.record_abandon(5_000, 20, 0);
        c.record_abandon(60_000, 20, 0);
        assert_eq!(c.service_level(), Some(0.5));
        assert_eq!(c.service_level_2(), Some(0.5));
        assert_eq!(c.asa_secs(), Some(20.0));
        assert_eq!(c.answered_rate(), Some(0.5));
        assert_eq!(c.longest_wait_answered_ms, 30_000);
    }

    #[test]
    fn short_abandons_are_left_out_of_the_abandon_rate() {
        let mut c = Counters {
            offered: 5,
            ..Counters::default()
        };
        c.record_answer(1_000, 20);
        c.record_answer(1_000, 20);
        c.record_abandon(2_000, 20, 5_000);
        c.record_abandon(9_000, 20, 5_000);
        c.record_abandon(30_000, 20, 5_000);
        assert_eq!(c.short_abandoned, 1);
        assert_eq!(c.total_wait_abandoned_ms, 41_000);
        // (3 - 1) / (5 - 1)
        assert_eq!(c.abandon_rate(), Some(0.5));
        let mut sum = c.clone();
        sum.add(&c);
        assert_eq!(sum.offered, 10);
        assert_eq!(sum.short_abandoned, 2);
        assert_eq!(sum.longest_wait_answered_ms, 1_000);
    }

    #[test]
    fn expected_wait_from_rate_then_from_handle_time() {
        let mut rate = AnswerRate::default();
        let mut counters = Counters::default();
        assert_eq!(expected_wait_minutes(3, 0, &rate, &counters, || 2), None);
        counters.calls_ended = 2;
        counters.total_talk_ms = 240_000; // 2 min average
        assert_eq!(expected_wait_minutes(3, 0, &rate, &counters, || 2), Some(3));
        // Four answers over four minutes: one a minute, so position 5 waits five minutes.
        for t in [60_000, 120_000, 180_000, 240_000] {
            rate.record(t);
        }
        assert_eq!(
            expected_wait_minutes(5, 300_000, &rate, &counters, || 2),
            Some(5)
        );
    }
}
