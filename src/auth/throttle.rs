//! Login throttling: too many failed logins for one account, or from one address,
//! lock further attempts out (429 with `Retry-After`) until the limit's bucket has
//! refilled a little. Counting only failures means a person who types their
//! password right is never slowed, while guessing stays slow: after the burst, one
//! guess per `window / limit` at most.
//!
//! Built on the one [`RateLimiter`]: a failure takes a token, a check only looks.

use std::time::{Duration, Instant};

use crate::ratelimit::RateLimiter;

/// Limits, in failed attempts per window.
#[derive(Clone, Debug)]
pub struct ThrottleSettings {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 30,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Failed-login buckets by account and by address.
pub struct LoginThrottle {
    accounts: RateLimiter<String>,
    addresses: RateLimiter<String>,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            accounts: RateLimiter::new(settings.per_account, settings.window),
            addresses: RateLimiter::new(settings.per_address, settings.window),
        }
    }

    /// `Err(seconds to wait)` when either key is locked out now.
    pub fn check(&self, login: &str, address: &str, now: Instant) -> Result<(), u64> {
        self.accounts
            .check(&account_key(login), now)
            .and(self.addresses.check(&address.to_string(), now))
            .map_err(|wait| wait.secs())
    }

    /// Counts a failed attempt against both keys.
    pub fn failed(&self, login: &str, address: &str, now: Instant) {
        let _ = self.accounts.take(&account_key(login), now);
        let _ = self.addresses.take(&address.to_string(), now);
    }

    /// A successful login clears its account's failures.
    pub fn succeeded(&self, login: &str) {
        self.accounts.forget(&account_key(login));
    }
}

fn account_key(login: &str) -> String {
    login.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_account_locks_after_its_failures_until_a_guess_is_due() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.check("kim", "1.1.1.1", now).is_ok());
            t.failed("kim", "1.1.1.1", now);
        }
        // One guess per 60 s / 3 = 20 s after the burst.
        assert_eq!(t.check("kim", "2.2.2.2", now), Err(20));
        assert_eq!(
            t.check("KIM ", "2.2.2.2", now + Duration::from_secs(15)),
            Err(5)
        );
        assert!(
            t.check("kim", "2.2.2.2", now + Duration::from_secs(20))
                .is_ok()
        );
        assert!(t.check("lee", "2.2.2.2", now).is_ok());
    }

    #[test]
    fn an_address_locks_after_failures_across_accounts() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5 {
            t.failed(&format!("user{i}"), "9.9.9.9", now);
        }
        assert!(t.check("someone-else", "9.9.9.9", now).is_err());
        assert!(t.check("someone-else", "8.8.8.8", now).is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let t = throttle();
        let now = Instant::now();
        t.failed("kim", "1.1.1.1", now);
        t.failed("kim", "1.1.1.1", now);
        t.succeeded("kim");
        t.failed("kim", "1.1.1.1", now);
        assert!(t.check("kim", "3.3.3.3", now).is_ok());
    }
}
