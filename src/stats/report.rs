//! Reports over stored intervals, pure: the period and step a request names, the roll-up of
//! interval rows into one row per (queue or agent, step), and each row's figures. The
//! figures' formulas are `Counters`' (service level, SL2, ASA, AHT, abandon rate),
//! `AgentTime`'s (occupancy) and `promises`' (the announced wait's median error), so the
//! wallboard and the report cannot disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, TimeZone as _};
use serde::Serialize;

use super::config::Day;
use super::promises::{self, PromiseFigures};
use super::ratings::{self, RatedCall, Ratings};
use super::recorder::{AgentInterval, AgentTime, QueueInterval};
use crate::acd::stats::{ratio, Counters, PromisedWait};
use crate::clock::{self, Millis};

/// The longest period one report covers.
pub const MAX_PERIOD_MS: Millis = 366 * 24 * 3_600_000;

/// How rows are grouped in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// One row per queue (or agent) for the whole period.
    Whole,
    /// Rows of a fixed length (a multiple of the stored interval), aligned to it.
    Every(Millis),
    /// Rows from one day start to the next (in the configured zone).
    Day,
}

impl Step {
    /// `15m`, `30m`, `1h`, `2h`, `1d`, or empty for the whole period; a fixed step must be a
    /// multiple of the stored `interval_ms`.
    pub fn parse(text: &str, interval_ms: Millis) -> Result<Step, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Step::Whole);
        }
        let wrong = || {
            format!("interval {text:?} is not like 15m, 1h or 1d (or empty for the whole period)")
        };
        let last = text.char_indices().last().map_or(0, |(at, _)| at);
        let (number, unit) = text.split_at(last);
        let n: u64 = number.parse().map_err(|_| wrong())?;
        let ms = match unit {
            "m" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            "d" if n == 1 => return Ok(Step::Day),
            "d" => return Err(format!("interval {text:?}: days go one at a time (1d)")),
            _ => return Err(wrong()),
        }
        .map_or(Millis::MAX, clock::ms);
        if ms == 0 || ms % interval_ms != 0 || ms > 24 * 3_600_000 {
            return Err(format!(
                "interval {text:?} must be a multiple of the stored {} minutes, at most a day",
                interval_ms / 60_000
            ));
        }
        Ok(Step::Every(ms))
    }

    /// The step `start` falls in (the whole period for [`Step::Whole`]).
    pub(crate) fn bucket(
        self,
        start: Millis,
        from: Millis,
        to: Millis,
        day: &Day,
    ) -> (Millis, Millis) {
        match self {
            Step::Whole => (from, to),
            Step::Every(ms) => {
                let b = start - start % ms;
                (b, b + ms)
            }
            Step::Day => {
                let b = day.start_of(start);
                (b, day.next_start(b))
            }
        }
    }
}

/// A request's `from` and `to`: a date (the day as the configured day start counts it; a `to`
/// date is included), an RFC 3339 time, a local `YYYY-MM-DDTHH:MM[:SS]` in the configured
/// zone, or Unix ms. Without them: today so far.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: Millis,
    day: &Day,
) -> Result<(Millis, Millis), String> {
    let from = match from.filter(|t| !t.is_empty()) {
        Some(text) => moment("from", text, day)?.0,
        None => day.start_of(now),
    };
    let to = match to.filter(|t| !t.is_empty()) {
        Some(text) => match moment("to", text, day)? {
            (start, true) => day.next_start(start),
            (at, false) => at,
        },
        None => now.max(from + 1),
    };
    if to <= from {
        return Err("the period ends before it starts (to must be after from)".into());
    }
    if to - from > MAX_PERIOD_MS {
        return Err("the period is longer than 366 days".into());
    }
    Ok((from, to))
}

/// The instant `text` names, and whether it was a whole date.
fn moment(name: &str, text: &str, day: &Day) -> Result<(Millis, bool), String> {
    let found = if let Some(ms) = text.parse::<Millis>().ok().filter(|ms| *ms >= 0) {
        Some((ms, false))
    } else if let Some(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=9999).contains(&d.year()))
    {
        // The day that starts on that date, at the configured time.
        let noon = date.and_hms_opt(12, 0, 0).map(|t| local_ms(day, t));
        noon.flatten().map(|at| {
            let start = day.start_of(at);
            // A day starting late (after noon) starts on the date itself, not before it.
            let start = if day.local(start).date() < date {
                day.next_start(start)
            } else {
                start
            };
            (start, true)
        })
    } else if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        Some(t.timestamp_millis())
            .filter(|ms| *ms >= 0)
            .map(|ms| (ms, false))
    } else {
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .and_then(|t| local_ms(day, t))
            .map(|ms| (ms, false))
    };
    let (at, date) = found.ok_or_else(|| {
        format!(
            "{name} {text:?} is not a date (YYYY-MM-DD), a time (YYYY-MM-DDTHH:MM, RFC 3339) \
             or Unix milliseconds"
        )
    })?;
    if at > crate::cdr::leg::LATEST_MS {
        return Err(format!("{name} {text:?} is after the year 9999"));
    }
    Ok((at, date))
}

fn local_ms(day: &Day, t: NaiveDateTime) -> Option<Millis> {
    day.zone
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp_millis())
        .filter(|ms| *ms >= 0)
}

/// `at` as RFC 3339 in the configured zone.
pub fn show(day: &Day, at: Millis) -> String {
    day.zone
        .timestamp_millis_opt(at)
        .single()
        .map_or_else(String::new, |t| t.to_rfc3339())
}

/// One row of the queue report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueRow {
    pub queue: String,
    pub from: String,
    pub to: String,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub overflowed: u64,
    pub moved: u64,
    pub callbacks: u64,
    pub exited: u64,
    pub answered_within_sl: u64,
    pub abandoned_within_sl: u64,
    /// Answered within the threshold / answered.
    pub service_level: Option<f64>,
    /// (Answered + abandoned within the threshold) / (answered + abandoned).
    pub service_level_2: Option<f64>,
    pub average_speed_of_answer_secs: Option<f64>,
    pub average_handle_time_secs: Option<f64>,
    /// (Abandoned - short) / (offered - short).
    pub abandon_rate: Option<f64>,
    pub average_abandon_wait_secs: Option<f64>,
    pub longest_wait_answered_secs: u64,
    pub wait_answered_secs: u64,
    pub talk_secs: u64,
    pub calls_ended: u64,
    /// Answered callers (answered within the row) who had been told an expected wait.
    pub promises: u64,
    /// Median of |actual − promised| / promised over them.
    pub promise_error_median: Option<f64>,
    /// Median of (actual − promised) / promised: positive when callers waited longer.
    pub promise_bias_median: Option<f64>,
}

impl QueueRow {
    fn new(queue: String, from: String, to: String, c: &Counters, p: &PromiseFigures) -> QueueRow {
        QueueRow {
            queue,
            from,
            to,
            offered: c.offered,
            answered: c.answered,
            abandoned: c.abandoned,
            short_abandoned: c.short_abandoned,
            overflowed: c.overflowed,
            moved: c.moved,
            callbacks: c.callbacks,
            exited: c.exited,
            answered_within_sl: c.answered_within_sl,
            abandoned_within_sl: c.abandoned_within_sl,
            service_level: c.service_level(),
            service_level_2: c.service_level_2(),
            average_speed_of_answer_secs: c.asa_secs(),
            average_handle_time_secs: c.aht_secs(),
            abandon_rate: c.abandon_rate(),
            average_abandon_wait_secs: c.average_abandon_wait_secs(),
            longest_wait_answered_secs: c.longest_wait_answered_ms / 1000,
            wait_answered_secs: c.total_wait_answered_ms / 1000,
            talk_secs: c.total_talk_ms / 1000,
            calls_ended: c.calls_ended,
            promises: p.promises,
            promise_error_median: p.median_error,
            promise_bias_median: p.median_bias,
        }
    }

    pub const CSV_HEADER: [&'static str; 26] = [
        "queue",
        "from",
        "to",
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "overflowed",
        "moved",
        "callbacks",
        "exited",
        "answered_within_sl",
        "abandoned_within_sl",
        "service_level",
        "service_level_2",
        "average_speed_of_answer_secs",
        "average_handle_time_secs",
        "abandon_rate",
        "average_abandon_wait_secs",
        "longest_wait_answered_secs",
        "wait_answered_secs",
        "talk_secs",
        "calls_ended",
        "promises",
        "promise_error_median",
        "promise_bias_median",
    ];

    pub fn csv_cells(&self) -> Vec<String> {
        let n = |v: u64| v.to_string();
        vec![
            self.queue.clone(),
            self.from.clone(),
            self.to.clone(),
            n(self.offered),
            n(self.answered),
            n(self.abandoned),
            n(self.short_abandoned),
            n(self.overflowed),
            n(self.moved),
            n(self.callbacks),
            n(self.exited),
            n(self.answered_within_sl),
            n(self.abandoned_within_sl),
            figure(self.service_level),
            figure(self.service_level_2),
            figure(self.average_speed_of_answer_secs),
            figure(self.average_handle_time_secs),
            figure(self.abandon_rate),
            figure(self.average_abandon_wait_secs),
            n(self.longest_wait_answered_secs),
            n(self.wait_answered_secs),
            n(self.talk_secs),
            n(self.calls_ended),
            n(self.promises),
            figure(self.promise_error_median),
            figure(self.promise_bias_median),
        ]
    }
}

/// One row of the agent report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentRow {
    pub agent: String,
    pub from: String,
    pub to: String,
    pub calls_answered: u64,
    /// Calls answered within their queue's service-level threshold.
    pub answered_within_sl: u64,
    pub talk_secs: u64,
    pub login_secs: u64,
    pub available_secs: u64,
    pub ringing_secs: u64,
    pub in_call_secs: u64,
    pub wrap_up_secs: u64,
    pub break_secs: u64,
    /// (In a call + wrap-up) / calls answered.
    pub average_handle_time_secs: Option<f64>,
    /// (In a call + wrap-up) / (in a call + wrap-up + ringing + available).
    pub occupancy: Option<f64>,
    /// The agent's part in the service level: answered within the threshold / answered.
    pub service_level: Option<f64>,
    /// Callers' ratings of the agent's calls that started in the row (the survey, 1-5).
    pub ratings: u64,
    pub average_rating: Option<f64>,
}

impl AgentRow {
    fn new(agent: String, from: String, to: String, t: &AgentTime, r: &Ratings) -> AgentRow {
        AgentRow {
            agent,
            from,
            to,
            calls_answered: t.calls_answered,
            answered_within_sl: t.answered_within_sl,
            talk_secs: t.talk_ms / 1000,
            login_secs: t.login_ms / 1000,
            available_secs: t.available_ms / 1000,
            ringing_secs: t.ringing_ms / 1000,
            in_call_secs: t.in_call_ms / 1000,
            wrap_up_secs: t.wrap_up_ms / 1000,
            break_secs: t.break_ms / 1000,
            average_handle_time_secs: t.aht_secs(),
            occupancy: t.occupancy(),
            service_level: t.service_level(),
            ratings: r.count,
            average_rating: r.average(),
        }
    }

    pub const CSV_HEADER: [&'static str; 17] = [
        "agent",
        "from",
        "to",
        "calls_answered",
        "talk_secs",
        "login_secs",
        "available_secs",
        "ringing_secs",
        "in_call_secs",
        "wrap_up_secs",
        "break_secs",
        "average_handle_time_secs",
        "occupancy",
        "answered_within_sl",
        "service_level",
        "ratings",
        "average_rating",
    ];

    pub fn csv_cells(&self) -> Vec<String> {
        let n = |v: u64| v.to_string();
        vec![
            self.agent.clone(),
            self.from.clone(),
            self.to.clone(),
            n(self.calls_answered),
            n(self.talk_secs),
            n(self.login_secs),
            n(self.available_secs),
            n(self.ringing_secs),
            n(self.in_call_secs),
            n(self.wrap_up_secs),
            n(self.break_secs),
            figure(self.average_handle_time_secs),
            figure(self.occupancy),
            n(self.answered_within_sl),
            figure(self.service_level),
            n(self.ratings),
            figure(self.average_rating),
        ]
    }
}

/// A figure for CSV: empty when there is nothing to divide by.
fn figure(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.4}"))
}

/// Queue rows rolled up by `step` within `from..to`, in (start, queue) order; a promise
/// counts in the row its answer falls in.
pub fn queue_rows(
    rows: &[QueueInterval],
    promised: &[PromisedWait],
    step: Step,
    from: Millis,
    to: Millis,
    day: &Day,
) -> Vec<QueueRow> {
    type Row<'a> = (Counters, Vec<&'a PromisedWait>);
    let mut sums: BTreeMap<(Millis, Millis, String), Row<'_>> = BTreeMap::new();
    for row in rows {
        let (b, e) = step.bucket(row.start, from, to, day);
        sums.entry((b, e, row.queue.clone()))
            .or_default()
            .0
            .add(&row.counters);
    }
    for p in promised {
        let (b, e) = step.bucket(p.answered_at, from, to, day);
        sums.entry((b, e, p.queue.clone())).or_default().1.push(p);
    }
    sums.into_iter()
        .map(|((b, e, queue), (c, p))| {
            let figures = promises::figures(p);
            QueueRow::new(
                queue,
                show(day, b.max(from)),
                show(day, e.min(to)),
                &c,
                &figures,
            )
        })
        .collect()
}

/// Agent rows rolled up by `step` within `from..to`, in (start, agent) order, with the
/// ratings of the agent's calls that started in each row (`rated`: calls an agent answered).
pub fn agent_rows(
    rows: &[AgentInterval],
    rated: &[RatedCall],
    step: Step,
    from: Millis,
    to: Millis,
    day: &Day,
) -> Vec<AgentRow> {
    type Row = (AgentTime, Ratings);
    let mut sums: BTreeMap<(Millis, Millis, String), Row> = BTreeMap::new();
    for row in rows {
        let (b, e) = step.bucket(row.start, from, to, day);
        sums.entry((b, e, row.agent.clone()))
            .or_default()
            .0
            .add(&row.time);
    }
    let answered: Vec<RatedCall> = rated
        .iter()
        .filter(|c| c.agent.is_some())
        .cloned()
        .collect();
    let by_agent = ratings::sums(&answered, step, from, to, day, |c| {
        c.agent.clone().unwrap_or_default()
    });
    for (key, r) in by_agent {
        sums.entry(key).or_default().1 = r;
    }
    sums.into_iter()
        .map(|((b, e, agent), (t, r))| {
            AgentRow::new(agent, show(day, b.max(from)), show(day, e.min(to)), &t, &r)
        })
        .collect()
}

impl AgentTime {
    /// Handle time (in a call and wrap-up) per call answered.
    pub fn aht_secs(&self) -> Option<f64> {
        ratio(self.in_call_ms + self.wrap_up_ms, self.calls_answered).map(|ms| ms / 1000.0)
    }

    /// Time handling calls (in a call, wrap-up) over that and the time waiting for one
    /// (available, ringing).
    pub fn occupancy(&self) -> Option<f64> {
        let busy = self.in_call_ms + self.wrap_up_ms;
        ratio(busy, busy + self.available_ms + self.ringing_ms)
    }

    /// The share of the agent's answered calls answered within their queue's threshold: the
    /// queue's service level (`Counters::service_level`) over this agent's calls only.
    pub fn service_level(&self) -> Option<f64> {
        ratio(self.answered_within_sl, self.calls_answered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::config::{DayStart, StatsConfig, Zone};

    const HOUR: Millis = 3_600_000;
    const FIFTEEN: Millis = 15 * 60_000;

    fn moscow() -> Day {
        StatsConfig {
            timezone: Some("Europe/Moscow".parse::<Zone>().unwrap()),
            day_starts_at: "00:00".parse::<DayStart>().unwrap(),
            ..StatsConfig::default()
        }
        .day()
    }

    fn ms(text: &str) -> Millis {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    fn interval(queue: &str, start: Millis, change: impl FnOnce(&mut Counters)) -> QueueInterval {
        let mut counters = Counters::default();
        change(&mut counters);
        QueueInterval {
            queue: queue.into(),
            start,
            counters,
            waiting: crate::stats::WaitingTime::default(),
        }
    }

    #[test]
    fn steps_and_periods_read_or_are_refused_with_the_reason() {
        assert_eq!(Step::parse("", FIFTEEN), Ok(Step::Whole));
        assert_eq!(Step::parse("15m", FIFTEEN), Ok(Step::Every(FIFTEEN)));
        assert_eq!(Step::parse("1h", FIFTEEN), Ok(Step::Every(HOUR)));
        assert_eq!(Step::parse("1d", FIFTEEN), Ok(Step::Day));
        assert!(Step::parse("10m", FIFTEEN)
            .unwrap_err()
            .contains("multiple"));
        assert!(Step::parse("soon", FIFTEEN).unwrap_err().contains("15m"));
        assert!(Step::parse("15é", FIFTEEN).is_err());
        assert!(Step::parse("99999999999999999h", FIFTEEN).is_err());
        let day = moscow();
        let now = ms("2026-12-07T12:00:00Z");
        // A date is the local day; a `to` date is included.
        assert_eq!(
            period(Some("2026-12-07"), Some("2026-12-07"), now, &day),
            Ok((ms("2026-12-06T21:00:00Z"), ms("2026-12-07T21:00:00Z")))
        );
        // Local times in the zone; RFC 3339 as written.
        assert_eq!(
            period(
                Some("2026-12-07T09:00"),
                Some("2026-12-07T10:00:00Z"),
                now,
                &day
            ),
            Ok((ms("2026-12-07T06:00:00Z"), ms("2026-12-07T10:00:00Z")))
        );
        // Nothing given: today so far.
        assert_eq!(
            period(None, None, now, &day),
            Ok((ms("2026-12-06T21:00:00Z"), now))
        );
        assert!(period(Some("262142-12-31"), None, now, &day).is_err());
        assert!(period(Some("yesterday"), None, now, &day)
            .unwrap_err()
            .contains("from \"yesterday\""));
        assert!(period(Some("2026-12-08"), Some("2026-12-01"), now, &day)
            .unwrap_err()
            .contains("ends before"));
        assert!(period(Some("2020-01-01"), Some("2026-01-01"), now, &day)
            .unwrap_err()
            .contains("366"));
    }

    #[test]
    fn intervals_roll_up_into_hours_and_days_with_the_asterisk_figures() {
        let day = moscow();
        let start = ms("2026-12-07T06:00:00Z"); // 09:00 in Moscow
        let rows = vec![
            interval("q", start, |c| {
                c.offered = 4;
                c.record_answer(10_000, 20);
                c.record_answer(30_000, 20);
                c.record_abandon(2_000, 20, 5_000);
                c.record_abandon(40_000, 20, 5_000);
            }),
            interval("q", start + FIFTEEN, |c| {
                c.offered = 2;
                c.record_answer(20_000, 20);
                c.calls_ended = 3;
                c.total_talk_ms = 360_000;
            }),
            interval("q", start + HOUR, |c| c.offered = 1),
        ];
        let (from, to) = (day.start_of(start), day.next_start(start));
        // Told 2 min at 09:05, answered 3 min later (+50%); told 4 at 09:20, answered after 3
        // (−25%); told 1 at 10:00, answered after 1 (0%).
        let promise = |told_at: Millis, promised_ms: u64, waited: Millis| PromisedWait {
            queue: "q".into(),
            call: format!("c{told_at}"),
            told_at,
            promised_ms,
            answered_at: told_at + waited,
        };
        let promised = [
            promise(start + 300_000, 120_000, 180_000),
            promise(start + 1_200_000, 240_000, 180_000),
            promise(start + HOUR, 60_000, 60_000),
        ];
        let hours = queue_rows(&rows, &promised, Step::Every(HOUR), from, to, &day);
        assert_eq!(hours.len(), 2);
        let first = &hours[0];
        assert_eq!(first.from, "2026-12-07T09:00:00+03:00");
        assert_eq!(first.to, "2026-12-07T10:00:00+03:00");
        assert_eq!((first.offered, first.answered, first.abandoned), (6, 3, 2));
        assert_eq!(first.short_abandoned, 1);
        // Answered within 20 s: 2 of 3. SL2: (2 + 1) / (3 + 2).
        assert_eq!(first.service_level, Some(2.0 / 3.0));
        assert_eq!(first.service_level_2, Some(0.6));
        assert_eq!(first.average_speed_of_answer_secs, Some(20.0));
        assert_eq!(first.average_handle_time_secs, Some(120.0));
        // (2 - 1) / (6 - 1)
        assert_eq!(first.abandon_rate, Some(0.2));
        assert_eq!(first.promises, 2);
        assert_eq!(first.promise_error_median, Some(0.375));
        assert_eq!(first.promise_bias_median, Some(0.125));
        assert_eq!(hours[1].promise_error_median, Some(0.0));
        let whole = queue_rows(&rows, &promised, Step::Day, from, to, &day);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].offered, 7);
        // The median of 0, 0.25, 0.5 over the day: not a mean of the hours' medians.
        assert_eq!(whole[0].promise_error_median, Some(0.25));
        assert_eq!(whole[0].from, "2026-12-07T00:00:00+03:00");
    }

    #[test]
    fn an_agents_rows_carry_the_ratings_of_their_calls() {
        let day = moscow();
        let start = ms("2026-12-07T06:00:00Z");
        let time = AgentTime {
            calls_answered: 2,
            ..AgentTime::default()
        };
        let rows = [AgentInterval {
            agent: "alice".into(),
            start,
            time,
        }];
        let rated = |agent: Option<&str>, rating: u8| RatedCall {
            at: start + 60_000,
            agent: agent.map(str::to_owned),
            queue: Some("support".into()),
            organization_id: None,
            rating,
        };
        let calls = [
            rated(Some("alice"), 4),
            rated(Some("alice"), 1),
            rated(Some("bob"), 5),
            rated(None, 3),
        ];
        let (from, to) = (day.start_of(start), day.next_start(start));
        let agents = agent_rows(&rows, &calls, Step::Day, from, to, &day);
        assert_eq!(agents.len(), 2, "{agents:?}");
        assert_eq!(agents[0].agent, "alice");
        assert_eq!(
            (agents[0].ratings, agents[0].average_rating),
            (2, Some(2.5))
        );
        assert_eq!(agents[0].calls_answered, 2);
        // An agent rated but without stored intervals in the row still has one.
        assert_eq!((agents[1].agent.as_str(), agents[1].ratings), ("bob", 1));
        assert_eq!(AgentRow::CSV_HEADER.len(), agents[0].csv_cells().len());
    }

    #[test]
    fn occupancy_is_handling_over_handling_and_waiting() {
        let t = AgentTime {
            calls_answered: 2,
            in_call_ms: 300_000,
            wrap_up_ms: 60_000,
            available_ms: 100_000,
            ringing_ms: 20_000,
            ..AgentTime::default()
        };
        assert_eq!(t.occupancy(), Some(0.75));
        assert_eq!(t.aht_secs(), Some(180.0));
        assert_eq!(AgentTime::default().occupancy(), None);
        // One of the two calls was answered within its queue's threshold.
        let t = AgentTime {
            answered_within_sl: 1,
            ..t
        };
        assert_eq!(t.service_level(), Some(0.5));
        assert_eq!(AgentTime::default().service_level(), None);
    }
}
