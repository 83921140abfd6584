//! The time the scheduler reads. Production uses the system clock; tests use a
//! [`ManualClock`] they move by hand, so a daily job is tested without waiting a day.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
    /// Notified when the clock is moved by hand; `None` for the system clock, whose
    /// time simply passes.
    fn moved(&self) -> Option<Arc<Notify>>;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn moved(&self) -> Option<Arc<Notify>> {
        None
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: Arc<Notify>,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(at),
            moved: Arc::new(Notify::new()),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = at;
        // notify_one keeps a permit if the scheduler is busy, so no move is missed.
        self.moved.notify_one();
    }

    pub fn advance(&self, by: chrono::Duration) {
        let next = self.now() + by;
        self.set(next);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn moved(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.moved))
    }
}
