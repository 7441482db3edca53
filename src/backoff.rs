//! Exponential back-off with jitter, for everything that retries: the event-socket reconnect,
//! the webhook and mail outboxes.

use std::time::Duration;

use rand::Rng as _;

/// The n-th delay is drawn from [d/2, d] with d = initial·2ⁿ, capped at `max`, so a fleet of
/// restarted services (or a queue of retries) does not hammer its peer in lockstep.
pub fn delay(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let base = base(initial, max, attempt);
    let half = base / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

/// The n-th delay without jitter: initial·2ⁿ, capped at `max`.
pub fn base(initial: Duration, max: Duration, attempt: u32) -> Duration {
    initial.saturating_mul(1u32 << attempt.min(20)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 0..30 {
            let d = delay(initial, max, attempt);
            let base = (initial * 2u32.pow(attempt.min(20))).min(max);
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d:?}");
        }
    }
}
