//! Latency statistics.
//!
//! Samples are kept whole (a run has at most a few hundred thousand) and sorted
//! once, so percentiles are exact rather than approximated by buckets.

use serde::Serialize;

/// Percentile summary of a set of samples, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: u64,
}

/// Nearest-rank percentile of sorted samples: the smallest value with at least
/// `p` percent of samples at or below it. `None` for no samples.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Summarises samples (sorting them in place).
pub fn summarize(samples: &mut [u64]) -> Summary {
    samples.sort_unstable();
    let n = samples.len();
    if n == 0 {
        return Summary::default();
    }
    let sum: u128 = samples.iter().map(|&v| v as u128).sum();
    Summary {
        count: n,
        p50_us: percentile(samples, 50.0).unwrap_or(0),
        p90_us: percentile(samples, 90.0).unwrap_or(0),
        p99_us: percentile(samples, 99.0).unwrap_or(0),
        max_us: samples[n - 1],
        mean_us: (sum / n as u128) as u64,
    }
}

/// Microseconds as a short human string ("850us", "12.3ms", "1.20s").
pub fn human_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 90.0), Some(90));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 99.0), Some(7));
    }

    #[test]
    fn summary_sorts() {
        let mut v = vec![5, 1, 4, 2, 3];
        let s = summarize(&mut v);
        assert_eq!((s.count, s.p50_us, s.max_us, s.mean_us), (5, 3, 5, 3));
        assert_eq!(summarize(&mut []), Summary::default());
    }

    #[test]
    fn human() {
        assert_eq!(human_us(850), "850us");
        assert_eq!(human_us(12_345), "12.3ms");
        assert_eq!(human_us(1_200_000), "1.20s");
    }
}
