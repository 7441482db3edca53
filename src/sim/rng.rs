//! The simulator's only source of randomness: one RNG seeded from `SimConfig::seed`, so two runs
//! with the same seed and the same script produce the same UUIDs, ports and behaviour. Nothing
//! here reads the OS's entropy.

use std::ops::Range;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

#[derive(Debug)]
pub(crate) struct SimRng(StdRng);

impl SimRng {
    pub(crate) fn new(seed: u64) -> SimRng {
        SimRng(StdRng::seed_from_u64(seed))
    }

    /// A version-4-looking UUID drawn from the seeded generator.
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.0.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    pub(crate) fn range(&mut self, range: Range<u64>) -> u64 {
        if range.is_empty() {
            return range.start;
        }
        self.0.random_range(range)
    }

    pub(crate) fn duration_between(&mut self, low: Duration, high: Duration) -> Duration {
        if high <= low {
            return low;
        }
        let span = u64::try_from((high - low).as_millis()).unwrap_or(u64::MAX);
        low + Duration::from_millis(self.range(0..span.saturating_add(1)))
    }

    /// True with probability `p` (clamped to 0..=1).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.0.random_bool(p.clamp(0.0, 1.0))
    }

    /// An index into `weights`, chosen in proportion to them; `None` when they sum to zero.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        if total == 0 {
            return None;
        }
        let mut pick = self.range(0..total);
        for (i, &w) in weights.iter().enumerate() {
            if pick < u64::from(w) {
                return Some(i);
            }
            pick -= u64::from(w);
        }
        None
    }

    /// Lower-case letters and digits, as sofia's tags and call-ids look.
    pub(crate) fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| char::from(ALPHABET[self.range(0..ALPHABET.len() as u64) as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_uuids() {
        let (mut a, mut b) = (SimRng::new(7), SimRng::new(7));
        let ua: Vec<_> = (0..3).map(|_| a.uuid()).collect();
        let ub: Vec<_> = (0..3).map(|_| b.uuid()).collect();
        assert_eq!(ua, ub);
        assert_eq!(&ua[0][14..15], "4");
        assert_ne!(ua[0], SimRng::new(8).uuid());
    }
}
