//! Simulated wall-clock time: a fixed wall-clock origin plus the tokio clock's progress, so
//! timestamps advance with `tokio::time::pause()`/`advance()` in tests and in real time in the
//! demo. Owns the three date formats FreeSWITCH writes; never sleeps or schedules anything.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Microseconds since the Unix epoch, as FreeSWITCH's `switch_time_t`.
pub(crate) type Micros = i64;

#[derive(Clone, Debug)]
pub(crate) struct Clock {
    origin: Instant,
    origin_us: Micros,
}

impl Clock {
    /// `wall` is the wall-clock time that corresponds to `origin` (the simulator's start).
    pub(crate) fn new(origin: Instant, wall: SystemTime) -> Clock {
        let origin_us = wall
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Clock { origin, origin_us }
    }

    pub(crate) fn micros(&self, now: Instant) -> Micros {
        let elapsed = now.saturating_duration_since(self.origin);
        self.origin_us + i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX / 2)
    }

    /// Time since the switch started (for `status` and HEARTBEAT).
    pub(crate) fn uptime(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.origin)
    }
}

fn datetime(us: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

std::thread_local! {
    /// The last second formatted, per format: every event carries two dates, and thousands
    /// of events share a second.
    static FORMATTED: std::cell::RefCell<[(i64, String); 2]> =
        const { std::cell::RefCell::new([(i64::MIN, String::new()), (i64::MIN, String::new())]) };
}

fn formatted(us: Micros, slot: usize, format: &str) -> String {
    let second = epoch_secs(us);
    FORMATTED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let entry = &mut cache[slot];
        if entry.0 != second {
            *entry = (second, datetime(us).format(format).to_string());
        }
        entry.1.clone()
    })
}

/// `Event-Date-Local` and the `*_stamp` variables: `2026-11-22 02:24:08` (the switch runs in UTC).
pub(crate) fn local(us: Micros) -> String {
    formatted(us, 0, "%Y-%m-%d %H:%M:%S")
}

/// `Event-Date-GMT`: `Sun, 22 Nov 2026 02:24:08 GMT`.
pub(crate) fn gmt(us: Micros) -> String {
    formatted(us, 1, "%a, %d %b %Y %H:%M:%S GMT")
}

/// The vanilla dialplan's `RFC2822_DATE`: `Sun, 22 Nov 2026 02:24:08 +0000`.
pub(crate) fn rfc2822(us: Micros) -> String {
    datetime(us)
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

pub(crate) fn epoch_secs(us: Micros) -> i64 {
    us.div_euclid(1_000_000)
}

/// FreeSWITCH's uptime wording: `0 years, 0 days, 0 hours, 1 minute, 3 seconds, 403
/// milliseconds, 120 microseconds` (singular for exactly one).
pub(crate) fn uptime_words(uptime: Duration) -> String {
    let total_us = uptime.as_micros();
    let unit = |n: u128, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let secs = total_us / 1_000_000;
    let parts = [
        unit(secs / (365 * 86_400), "year"),
        unit(secs / 86_400 % 365, "day"),
        unit(secs / 3_600 % 24, "hour"),
        unit(secs / 60 % 60, "minute"),
        unit(secs % 60, "second"),
        unit(total_us / 1_000 % 1_000, "millisecond"),
        unit(total_us % 1_000, "microsecond"),
    ];
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_captures() {
        let us = 1_795_314_248_897_629;
        assert_eq!(local(us), "2026-11-22 02:24:08");
        assert_eq!(gmt(us), "Sun, 22 Nov 2026 02:24:08 GMT");
        assert_eq!(rfc2822(us), "Sun, 22 Nov 2026 02:24:08 +0000");
        assert_eq!(
            uptime_words(Duration::from_micros(63_403_120)),
            "0 years, 0 days, 0 hours, 1 minute, 3 seconds, 403 milliseconds, 120 microseconds"
        );
    }
}
