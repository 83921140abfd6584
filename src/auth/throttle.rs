//! Login throttling: too many failed logins for one account, or from one address,
//! within a window lock further attempts out until the window ends (429 with
//! `Retry-After`). Counting only failures means a person who types their password
//! right is never slowed, while guessing stays slow.

use std::time::{Duration, Instant};

use dashmap::DashMap;

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

struct Window {
    failures: u32,
    started: Instant,
}

/// Failed-login counters by account and by address.
pub struct LoginThrottle {
    settings: ThrottleSettings,
    windows: DashMap<String, Window>,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            windows: DashMap::new(),
        }
    }

    /// `Err(seconds to wait)` when either key is locked out now.
    pub fn check(&self, login: &str, address: &str, now: Instant) -> Result<(), u64> {
        let keys = [
            (account_key(login), self.settings.per_account),
            (address_key(address), self.settings.per_address),
        ];
        for (key, limit) in keys {
            if let Some(w) = self.windows.get(&key) {
                let elapsed = now.saturating_duration_since(w.started);
                if elapsed < self.settings.window && w.failures >= limit {
                    return Err((self.settings.window - elapsed).as_secs().max(1));
                }
            }
        }
        Ok(())
    }

    /// Counts a failed attempt against both keys.
    pub fn failed(&self, login: &str, address: &str, now: Instant) {
        if self.windows.len() > 100_000 {
            // Bounded memory under a spray of random logins: forget expired windows.
            let window = self.settings.window;
            self.windows
                .retain(|_, w| now.saturating_duration_since(w.started) < window);
        }
        for key in [account_key(login), address_key(address)] {
            let mut w = self.windows.entry(key).or_insert(Window {
                failures: 0,
                started: now,
            });
            if now.saturating_duration_since(w.started) >= self.settings.window {
                *w = Window {
                    failures: 0,
                    started: now,
                };
            }
            w.failures += 1;
        }
    }

    /// A successful login clears its account's failures.
    pub fn succeeded(&self, login: &str) {
        self.windows.remove(&account_key(login));
    }
}

fn account_key(login: &str) -> String {
    format!("a:{}", login.trim().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("ip:{address}")
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
    fn an_account_locks_after_its_failures_until_the_window_ends() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.check("kim", "1.1.1.1", now).is_ok());
            t.failed("kim", "1.1.1.1", now);
        }
        assert_eq!(t.check("kim", "2.2.2.2", now), Err(60));
        assert_eq!(
            t.check("KIM ", "2.2.2.2", now + Duration::from_secs(50)),
            Err(10)
        );
        assert!(
            t.check("kim", "2.2.2.2", now + Duration::from_secs(61))
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
