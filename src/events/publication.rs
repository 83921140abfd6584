//! The commit-to-publish hand-over: what this instance's committers and its tailer
//! share, and nothing else.
//!
//! One [`Publication`] is made at start-up and given to both sides: the database
//! handle ([`crate::db::Db::connect_with`]), whose commits hand their events over,
//! wake the tailer and wait for their events to be live; and the
//! [`super::tailer`], which takes them, publishes them to the hub and says how far
//! it got. Neither side reaches into the other: this is the whole protocol between
//! them.
//!
//! Commit side, in order: [`Publication::hand_over`] and [`Publication::wake`] once
//! the events are durable (on SQLite after the group sync, see `db::durable`), then
//! [`Publication::wait_published`] before the request that made them answers. Tailer
//! side: [`Publication::start_tailing`] while it runs, [`Publication::committed`] to
//! sleep on, [`Publication::take_after`], then [`Publication::mark_published`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::handoff::Handoff;
use crate::db::StoredEvent;

/// The hand-over between this instance's commits and its tailer.
pub struct Publication {
    /// Woken after every local commit whose events may now be published (on
    /// SQLite once synced), and by the PostgreSQL listener for other instances'
    /// commits, so the tailer reads at once instead of at its next tick.
    committed: Notify,
    /// The newest id the tailer has handed to the hub; commits wait on it so that
    /// their events are live before the request that made them answers.
    published: watch::Sender<i64>,
    /// This instance's commits' events, for the tailer to take without reading
    /// them back (filled only while a tailer runs).
    handoff: Handoff,
    /// Whether a tailer is publishing; commits made before it starts (start-up
    /// seeding) or after it stops have nothing to wait for and hand nothing over.
    tailing: AtomicBool,
    /// Whether the log may hold events that were not handed over (another
    /// instance's, heard of by the PostgreSQL listener): the tailer then reads
    /// the log even after a hand-over.
    in_log: AtomicBool,
}

impl Default for Publication {
    fn default() -> Self {
        Self {
            committed: Notify::new(),
            published: watch::Sender::new(0),
            handoff: Handoff::default(),
            tailing: AtomicBool::new(false),
            in_log: AtomicBool::new(false),
        }
    }
}

/// Held by a running tailer; dropping it (the tailer ends) stops commits waiting
/// for publication.
pub struct Tailing(Arc<Publication>);

impl Drop for Tailing {
    fn drop(&mut self) {
        self.0.tailing.store(false, Ordering::Release);
    }
}

impl Publication {
    /// Whether a tailer runs: read once per commit, before it commits, so a commit
    /// hands over and waits only when someone will take its events.
    pub fn is_tailing(&self) -> bool {
        self.tailing.load(Ordering::Acquire)
    }

    /// Leaves committed (and, on SQLite, synced) events for the tailer.
    pub fn hand_over(&self, events: Vec<StoredEvent>) {
        if !events.is_empty() {
            self.handoff.put(events);
        }
    }

    /// Wakes the tailer: this instance's events may be waiting.
    pub fn wake(&self) {
        self.committed.notify_one();
    }

    /// Wakes the tailer to read the log: another instance committed events, or
    /// notifications may have been missed (the listener reconnected).
    pub fn wake_for_log(&self) {
        self.in_log.store(true, Ordering::Release);
        self.committed.notify_one();
    }

    /// Whether [`Publication::wake_for_log`] was called since the last call: the
    /// tailer then reads the log (cleared before it reads, so a notification that
    /// comes during the read asks for another).
    pub fn take_log_wake(&self) -> bool {
        self.in_log.swap(false, Ordering::AcqRel)
    }

    /// Waits, at most `within`, until everything up to `last` is live here (read
    /// your writes). Bounded, so a stalled tailer delays answers but never blocks
    /// them.
    pub async fn wait_published(&self, last: i64, within: Duration) {
        let mut published = self.published.subscribe();
        let _ = tokio::time::timeout(within, published.wait_for(|p| *p >= last)).await;
    }

    /// The newest id published here.
    pub fn published(&self) -> i64 {
        *self.published.borrow()
    }

    /// Marks a tailer as running until the returned guard drops.
    pub fn start_tailing(self: &Arc<Self>) -> Tailing {
        self.tailing.store(true, Ordering::Release);
        Tailing(Arc::clone(self))
    }

    /// Resolves at the next [`Publication::wake`] (or at once if one came since the
    /// last call).
    pub async fn committed(&self) {
        self.committed.notified().await;
    }

    /// Events committed here that continue the log right after `last`, at most
    /// `limit`; empty when the tailer must read the log (see [`Handoff`]).
    pub fn take_after(&self, last: i64, limit: usize) -> Vec<StoredEvent> {
        self.handoff.take_after(last, limit)
    }

    /// Called by the tailer after publishing everything up to `id`.
    pub fn mark_published(&self, id: i64) {
        self.published.send_if_modified(|p| {
            let newer = id > *p;
            if newer {
                *p = id;
            }
            newer
        });
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

    #[tokio::test]
    async fn a_commit_waits_until_its_events_are_published() {
        let p = Arc::new(Publication::default());
        let tailing = p.start_tailing();
        assert!(p.is_tailing());
        p.hand_over(vec![ev(1), ev(2)]);
        p.wake();
        p.committed().await;
        let taken: Vec<i64> = p.take_after(0, 10).iter().map(|e| e.id).collect();
        assert_eq!(taken, vec![1, 2]);
        let waiter = {
            let p = Arc::clone(&p);
            tokio::spawn(async move { p.wait_published(2, Duration::from_secs(10)).await })
        };
        p.mark_published(1);
        p.mark_published(2);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken once published")
            .unwrap();
        drop(tailing);
        assert!(!p.is_tailing());
    }

    #[tokio::test]
    async fn only_a_wake_for_the_log_asks_the_tailer_to_read_it_once() {
        let p = Publication::default();
        p.wake();
        p.committed().await;
        assert!(
            !p.take_log_wake(),
            "a local commit's wake: its events are handed over"
        );
        p.wake_for_log();
        p.committed().await;
        assert!(
            p.take_log_wake(),
            "another instance's events are only in the log"
        );
        assert!(!p.take_log_wake(), "asked once per wake");
    }
}
