//! How well the announced expected waits held, pure: over answered callers who were told an
//! expected wait (`PromisedWait`, the first one they heard in the queue), the median of the
//! relative error |actual − promised| / promised and of the signed one (the bias: positive
//! when callers waited longer than told). Medians are taken over the pairs themselves, never
//! from per-interval medians, which do not add up.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::acd::stats::PromisedWait;

/// A queue's promises over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PromiseFigures {
    /// Answered callers who had been told an expected wait.
    pub promises: u64,
    /// Median of |actual − promised| / promised; none without promises.
    pub median_error: Option<f64>,
    /// Median of (actual − promised) / promised.
    pub median_bias: Option<f64>,
}

/// The figures of `promises` (any order).
pub fn figures<'a>(promises: impl IntoIterator<Item = &'a PromisedWait>) -> PromiseFigures {
    let mut signed: Vec<f64> = promises
        .into_iter()
        .filter_map(PromisedWait::error)
        .collect();
    let mut absolute: Vec<f64> = signed.iter().map(|e| e.abs()).collect();
    PromiseFigures {
        promises: signed.len() as u64,
        median_error: median(&mut absolute),
        median_bias: median(&mut signed),
    }
}

/// The figures per queue.
pub fn by_queue(promises: &[PromisedWait]) -> BTreeMap<String, PromiseFigures> {
    let mut grouped: BTreeMap<String, Vec<&PromisedWait>> = BTreeMap::new();
    for p in promises {
        grouped.entry(p.queue.clone()).or_default().push(p);
    }
    grouped
        .into_iter()
        .map(|(queue, promises)| (queue, figures(promises)))
        .collect()
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    fn promise(queue: &str, promised_min: u64, waited_ms: u64) -> PromisedWait {
        PromisedWait {
            queue: queue.into(),
            call: format!("{queue}-{promised_min}-{waited_ms}"),
            told_at: 1_000,
            promised_ms: promised_min * MIN,
            answered_at: 1_000 + crate::clock::ms(waited_ms),
        }
    }

    #[test]
    fn the_median_error_is_taken_over_the_callers_not_added_up() {
        // Told 2 min: waited 1 (−50%), 2 (0%), 3 min (+50%); told 4 min, waited 5 (+25%).
        let support = [
            promise("support", 2, MIN),
            promise("support", 2, 2 * MIN),
            promise("support", 2, 3 * MIN),
            promise("support", 4, 5 * MIN),
        ];
        let f = figures(&support);
        assert_eq!(f.promises, 4);
        // |errors| 0, 0.25, 0.5, 0.5 → (0.25 + 0.5) / 2; signed −0.5, 0, 0.25, 0.5.
        assert_eq!(f.median_error, Some(0.375));
        assert_eq!(f.median_bias, Some(0.125));
        let mut all = support.to_vec();
        all.push(promise("sales", 1, 90_000));
        let queues = by_queue(&all);
        assert_eq!(queues["support"], f);
        assert_eq!(queues["sales"].median_error, Some(0.5));
        assert_eq!(figures(&[]), PromiseFigures::default());
    }
}
