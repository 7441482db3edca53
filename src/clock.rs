//! Time, as every room of switchdesk counts it: Unix milliseconds in [`Millis`], the database's
//! BIGINT, the JSON the API and the live feed send, and the `now` the queue engine is handed.
//! The wall clock is read here and nowhere else ([`now`]).
//!
//! Spans that are unsigned counts by nature (a setting in seconds, a wait or talk time in
//! milliseconds, a `Duration`) meet the time line only through the functions below, so no
//! `as` cast between signed and unsigned milliseconds is written anywhere else. They saturate
//! instead of wrapping, and an elapsed time never goes below zero.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time as milliseconds since the Unix epoch, or the signed difference of two.
pub type Millis = i64;

/// The wall clock, now.
pub fn now() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, span)
}

/// A count of milliseconds (a setting, a measured wait) as a span on the time line.
pub fn ms(count: u64) -> Millis {
    Millis::try_from(count).unwrap_or(Millis::MAX)
}

/// A count of seconds (a setting) as a span on the time line.
pub fn secs(count: u64) -> Millis {
    ms(count.saturating_mul(1000))
}

/// A `Duration` as a span on the time line, to the millisecond.
pub fn span(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

/// The milliseconds from `from` to `to` as a count: zero when `to` is not later.
pub fn elapsed(from: Millis, to: Millis) -> u64 {
    u64::try_from(to.saturating_sub(from)).unwrap_or(0)
}

/// How long to wait at `now` for `at`: zero once it has passed.
pub fn wait(now: Millis, at: Millis) -> Duration {
    Duration::from_millis(elapsed(now, at))
}

/// `at` as the system's time type (the epoch for anything before it).
pub fn system_time(at: Millis) -> SystemTime {
    UNIX_EPOCH + wait(0, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_saturate_and_elapsed_times_never_go_below_zero() {
        assert_eq!(ms(1_500), 1_500);
        assert_eq!(ms(u64::MAX), Millis::MAX);
        assert_eq!(secs(30), 30_000);
        assert_eq!(secs(u64::MAX), Millis::MAX);
        assert_eq!(span(Duration::from_millis(2_500)), 2_500);
        assert_eq!(span(Duration::MAX), Millis::MAX);
        assert_eq!(elapsed(1_000, 4_000), 3_000);
        assert_eq!(elapsed(4_000, 1_000), 0);
        assert_eq!(
            elapsed(Millis::MIN, Millis::MAX),
            u64::try_from(Millis::MAX).unwrap()
        );
        assert_eq!(wait(1_000, 1_250), Duration::from_millis(250));
        assert_eq!(wait(1_250, 1_000), Duration::ZERO);
        assert_eq!(system_time(-5), UNIX_EPOCH);
        assert_eq!(
            system_time(1_500),
            UNIX_EPOCH + Duration::from_millis(1_500)
        );
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now() > 1_577_836_800_000);
    }
}
