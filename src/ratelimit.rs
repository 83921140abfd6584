//! The one limiter behind every rate limit: an in-memory token bucket per key,
//! `burst` tokens refilled evenly over `window`.
//!
//! Keys are whatever is limited: a user id (chat messages), an address (inquiries),
//! an account or an address (failed logins, [`crate::auth::throttle`]). Per instance
//! on purpose: these limits need no coordination, and a restart forgetting the
//! buckets only ever lets a client send more. Memory stays bounded: above
//! [`PRUNE_ABOVE`] keys, full buckets (idle for a whole window) are dropped.

use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dashmap::DashMap;

/// Above this many buckets, full ones (users idle for a whole window) are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// A refused take: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for a `Retry-After` header, at least 1.
    pub fn secs(self) -> u64 {
        let whole = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        whole.max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by `K`. Each bucket is touched under its own map shard lock
/// only, so users never wait on each other.
pub struct RateLimiter<K = i64> {
    burst: f64,
    /// Tokens added per second.
    rate: f64,
    buckets: DashMap<K, Bucket>,
    /// Serialises pruning so only one caller scans the map at a time.
    pruning: Mutex<()>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `burst` takes at once, then one every `window / burst`. A zero burst or window
    /// is treated as 1 (a limiter that refuses everything is never what was meant).
    pub fn new(burst: u32, window: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        let window = window.as_secs_f64().max(1e-3);
        Self {
            burst,
            rate: burst / window,
            buckets: DashMap::new(),
            pruning: Mutex::new(()),
        }
    }

    /// Takes one token for `key` at `now`, or says how long until one is free.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        if self.buckets.len() > PRUNE_ABOVE {
            self.prune(now);
        }
        let mut b = self.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(RetryAfter(Duration::from_secs_f64(
                (1.0 - b.tokens) / self.rate,
            )))
        }
    }

    /// Whether a take would pass now, without taking (`Err` says how long until
    /// one would).
    pub fn check(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        let Some(b) = self.buckets.get(key) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        let tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(RetryAfter(Duration::from_secs_f64(
                (1.0 - tokens) / self.rate,
            )))
        }
    }

    /// Forgets `key`: its next take starts from a full bucket.
    pub fn forget(&self, key: &K) {
        self.buckets.remove(key);
    }

    fn prune(&self, now: Instant) {
        let Ok(_guard) = self.pruning.try_lock() else {
            return;
        };
        let (burst, rate) = (self.burst, self.rate);
        self.buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_one_token_per_interval() {
        let l = RateLimiter::new(3, Duration::from_secs(3));
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.take(&1, t).is_ok());
        }
        let refused = l.take(&1, t).unwrap_err();
        assert_eq!(refused.0, Duration::from_secs(1));
        assert_eq!(refused.secs(), 1);
        assert!(l.take(&2, t).is_ok(), "another user has their own bucket");
        assert!(l.take(&1, t + Duration::from_millis(999)).is_err());
        assert!(l.take(&1, t + Duration::from_millis(1000)).is_ok());
        assert!(l.take(&1, t + Duration::from_millis(1000)).is_err());
    }

    #[test]
    fn an_idle_bucket_refills_only_up_to_the_burst() {
        let l = RateLimiter::new(2, Duration::from_secs(2));
        let t = Instant::now();
        let later = t + Duration::from_secs(3600);
        assert!(l.take(&1, later).is_ok());
        assert!(l.take(&1, later).is_ok());
        assert!(l.take(&1, later).is_err());
    }

    #[test]
    fn check_does_not_take_and_forget_refills() {
        let l = RateLimiter::new(2, Duration::from_secs(2));
        let t = Instant::now();
        assert!(l.check(&1, t).is_ok());
        assert!(l.take(&1, t).is_ok());
        assert!(l.check(&1, t).is_ok());
        assert!(l.check(&1, t).is_ok(), "checking takes nothing");
        assert!(l.take(&1, t).is_ok());
        assert_eq!(l.check(&1, t), Err(RetryAfter(Duration::from_secs(1))));
        l.forget(&1);
        assert!(l.take(&1, t).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::from_millis(100)).secs(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(1500)).secs(), 2);
        assert_eq!(RetryAfter(Duration::from_secs(2)).secs(), 2);
        assert_eq!(RetryAfter(Duration::ZERO).secs(), 1);
    }
}
