//! `[stats]`: the interval length, the short-abandon threshold, and when a day starts (time
//! of day in an IANA time zone). `Day` turns the last two into instants, pure.

use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;

/// Interval lengths that divide an hour, so intervals line up with hours.
const INTERVALS: [u32; 12] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatsConfig {
    /// Length of a stored interval, in minutes (a divisor of 60).
    pub interval_minutes: u32,
    /// An abandon after a shorter wait is a short abandon (0: none are).
    pub short_abandon_secs: u64,
    /// When the wallboard's "today" starts, `HH:MM` (or `HH:MM:SS`) in `timezone`.
    pub day_starts_at: DayStart,
    /// IANA name such as `Europe/Moscow`; UTC when unset (and `check-config` warns).
    pub timezone: Option<Zone>,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            interval_minutes: 15,
            short_abandon_secs: 5,
            day_starts_at: DayStart::default(),
            timezone: None,
        }
    }
}

impl StatsConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !INTERVALS.contains(&self.interval_minutes) {
            problems.push(format!(
                "stats.interval_minutes must divide an hour: one of {}",
                INTERVALS.map(|m| m.to_string()).join(", ")
            ));
        }
        if self.short_abandon_secs > 600 {
            problems.push("stats.short_abandon_secs must be at most 600".into());
        }
        problems
    }

    pub fn interval_ms(&self) -> Millis {
        Millis::from(self.interval_minutes.max(1)) * 60_000
    }

    pub fn day(&self) -> Day {
        Day {
            zone: self.timezone.map_or(chrono_tz::UTC, |z| z.0),
            starts_at: self.day_starts_at.0,
        }
    }
}

/// A time of day, written `HH:MM` or `HH:MM:SS`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayStart(pub NaiveTime);

impl FromStr for DayStart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        NaiveTime::parse_from_str(s, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
            .map(DayStart)
            .map_err(|_| format!("{s:?} is not a time of day like 00:00 or 06:30"))
    }
}

impl fmt::Display for DayStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M:%S"))
    }
}

impl Serialize for DayStart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DayStart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// An IANA time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone(pub chrono_tz::Tz);

impl FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<chrono_tz::Tz>()
            .map(Zone)
            .map_err(|_| format!("{s:?} is not an IANA time zone like Europe/Moscow or UTC"))
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where days start: a time of day in a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day {
    pub zone: chrono_tz::Tz,
    pub starts_at: NaiveTime,
}

impl Default for Day {
    fn default() -> Self {
        StatsConfig::default().day()
    }
}

impl Day {
    /// The start of the day `at` falls in.
    pub fn start_of(&self, at: Millis) -> Millis {
        let local = self.local(at);
        let mut date = local.date();
        if local.time() < self.starts_at {
            date = date.pred_opt().unwrap_or(date);
        }
        let start = self.instant(date);
        // A start moved past a gap (DST) can only be later than `at` on the day of the gap.
        if start > at {
            self.instant(date.pred_opt().unwrap_or(date))
        } else {
            start
        }
    }

    /// The start of the day after the one `at` falls in (always later than `at`).
    pub fn next_start(&self, at: Millis) -> Millis {
        let mut date = self.local(self.start_of(at)).date();
        // The next date's start, or (a gap swallowing it) the one after.
        for _ in 0..3 {
            let Some(next_date) = date.succ_opt() else {
                break;
            };
            date = next_date;
            let next = self.instant(date);
            if next > at {
                return next;
            }
        }
        // Only at the edge of the representable calendar.
        at.saturating_add(24 * 3_600_000)
    }

    /// The local date and time of `at`.
    pub fn local(&self, at: Millis) -> NaiveDateTime {
        self.zone
            .timestamp_millis_opt(at)
            .single()
            .map_or_else(NaiveDateTime::default, |t| t.naive_local())
    }

    /// When `date`'s day starts: the earlier of an ambiguous time, the end of a gap.
    fn instant(&self, date: NaiveDate) -> Millis {
        let mut local = date.and_time(self.starts_at);
        // Gaps are at most a few hours; step through one a minute at a time.
        for _ in 0..(24 * 60) {
            if let Some(t) = self.zone.from_local_datetime(&local).earliest() {
                return t.timestamp_millis().max(0);
            }
            local += Duration::minutes(1);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    fn day(zone: &str, starts_at: &str) -> Day {
        Day {
            zone: zone.parse().unwrap(),
            starts_at: starts_at.parse::<DayStart>().unwrap().0,
        }
    }

    #[test]
    fn a_day_starts_at_the_configured_time_in_the_configured_zone() {
        let moscow = day("Europe/Moscow", "00:00");
        // 23:30 UTC is 02:30 in Moscow (UTC+3): the day started at 21:00 UTC.
        let at = ms("2026-12-07T23:30:00Z");
        assert_eq!(moscow.start_of(at), ms("2026-12-07T21:00:00Z"));
        assert_eq!(moscow.next_start(at), ms("2026-12-08T21:00:00Z"));
        // A 06:00 start: at 05:00 local it is still yesterday's day.
        let early = day("Europe/Moscow", "06:00");
        let at = ms("2026-12-08T02:00:00Z"); // 05:00 local
        assert_eq!(early.start_of(at), ms("2026-12-07T03:00:00Z"));
        assert_eq!(early.next_start(at), ms("2026-12-08T03:00:00Z"));
        // Exactly at the boundary the new day has started.
        assert_eq!(
            early.start_of(ms("2026-12-08T03:00:00Z")),
            ms("2026-12-08T03:00:00Z")
        );
    }

    #[test]
    fn days_across_daylight_saving_changes_are_23_or_25_hours() {
        let berlin = day("Europe/Berlin", "00:00");
        // Spring forward on 2026-03-29: the day is 23 hours long.
        let start = berlin.start_of(ms("2026-03-29T12:00:00Z"));
        assert_eq!(start, ms("2026-03-28T23:00:00Z"));
        assert_eq!(berlin.next_start(start), ms("2026-03-29T22:00:00Z"));
        // A start inside the gap (02:30 does not exist that day) moves to its end, 03:00.
        let gap = day("Europe/Berlin", "02:30");
        assert_eq!(
            gap.start_of(ms("2026-03-29T12:00:00Z")),
            ms("2026-03-29T01:00:00Z")
        );
        // Fall back on 2026-10-25: 25 hours.
        let start = berlin.start_of(ms("2026-10-25T12:00:00Z"));
        assert_eq!(berlin.next_start(start) - start, 25 * 3_600_000);
    }

    #[test]
    fn settings_that_do_not_read_are_named() {
        assert!("25:00".parse::<DayStart>().is_err());
        assert!("Mars/Olympus".parse::<Zone>().is_err());
        assert_eq!("06:30".parse::<DayStart>().unwrap().to_string(), "06:30:00");
        let bad = StatsConfig {
            interval_minutes: 7,
            ..StatsConfig::default()
        };
        assert_eq!(bad.problems().len(), 1);
        assert!(StatsConfig::default().problems().is_empty());
    }
}
