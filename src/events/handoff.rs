//! Committed events handed by their committer straight to this instance's tailer.
//!
//! Held by the [`super::publication::Publication`]. The tailer publishes in id
//! order from the log (see [`super::tailer`]). Reading back what this instance has just committed costs a query and, on one
//! core, a few thread switches on every event's way to its readers. So a commit
//! also leaves its events here, and the tailer takes them while they continue the
//! log exactly (`last + 1`, `last + 2`, ...): ids are unique and every event of
//! such a run is committed, so no id inside it can still commit later (on
//! PostgreSQL, where appenders commit concurrently, a gap waits for the log and
//! its publish horizon, `db::horizon`), and the run is what the log holds next. Anything else (another
//! instance's event, a commit whose hand-off was lost) breaks the run, and the
//! tailer reads the log as before.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::db::StoredEvent;

/// Beyond this many waiting events the tailer is behind anyway: they are dropped
/// and it reads the log.
const CAPACITY: usize = 65_536;

/// Committed events by id, waiting for the tailer.
#[derive(Default)]
pub struct Handoff {
    events: Mutex<BTreeMap<i64, StoredEvent>>,
}

impl Handoff {
    /// Leaves committed (and, on SQLite, synced) events for the tailer.
    pub fn put(&self, events: impl IntoIterator<Item = StoredEvent>) {
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.extend(events.into_iter().map(|e| (e.id, e)));
    }

    /// The events that continue the log right after `last`, at most `limit`;
    /// forgets those at or before `last`.
    pub fn take_after(&self, last: i64, limit: usize) -> Vec<StoredEvent> {
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        *map = map.split_off(&last.saturating_add(1));
        let mut out = Vec::new();
        let mut next = last.saturating_add(1);
        while out.len() < limit {
            match map.first_entry() {
                Some(e) if *e.key() == next => {
                    out.push(e.remove());
                    next += 1;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64) -> StoredEvent {
        StoredEvent {
            id,
            channel: "products".into(),
            event_type: "stock.changed".into(),
            at: 0,
            data: "{}".into(),
        }
    }

    fn ids(events: Vec<StoredEvent>) -> Vec<i64> {
        events.into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn only_a_run_that_continues_the_log_is_taken() {
        let h = Handoff::default();
        h.put([ev(12), ev(11), ev(14)]);
        // 10 is missing: the log must be read.
        assert!(h.take_after(9, 100).is_empty());
        assert_eq!(ids(h.take_after(10, 100)), vec![11, 12]);
        // 13 is missing.
        assert!(h.take_after(12, 100).is_empty());
        // The log reader passed 14: it is forgotten.
        assert!(h.take_after(14, 100).is_empty());
        h.put([ev(15), ev(16), ev(17)]);
        assert_eq!(ids(h.take_after(14, 2)), vec![15, 16]);
        assert_eq!(ids(h.take_after(16, 2)), vec![17]);
    }
}
