//! The wall clock, read here and nowhere else: Unix time in milliseconds. The queue engine
//! counts in `u64` (`acd::Millis`, handed `now` by the switchboard); the store, the API and
//! the live feed in `i64`, the database's BIGINT. Both come from the one reading below.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as the queue engine and the statistics count them.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The same instant as the database and the API carry it.
pub fn now_millis() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}
