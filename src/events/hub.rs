//! The in-process hub: channel -> live subscribers, and a ring of recent events.
//!
//! Publishing never waits on a reader: each subscriber has a bounded queue filled
//! with `try_send`; a full queue cuts that subscriber off (its stream ends and the
//! client resumes from its cursor), so one stalled reader never delays another.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use indexmap::IndexMap;
use tokio_util::sync::CancellationToken;

use super::Event;
use super::channel;
use super::params::TypeFilter;
use super::queue::{self, SendError};

/// One live reader's end of the hub, held only by the channel lists: when it is
/// removed from them (overflow, shutdown) its queue's sender drops, and the reader
/// gets what was queued and then the end of its feed, with no extra signal to
/// watch on every event.
struct Subscriber {
    id: u64,
    queue: queue::Sender,
    types: TypeFilter,
    keys: Arc<[String]>,
    /// Set on overflow; checked before every delivery (an atomic load) so
    /// nothing is queued after a gap.
    overflowed: AtomicBool,
}

/// Counters the hub keeps for `/metrics`.
#[derive(Default, Debug)]
pub struct HubStats {
    pub published: AtomicU64,
    pub delivered: AtomicU64,
    pub overflows: AtomicU64,
}

/// Recent events in id order; every event with an id above `floor` is here.
struct Ring {
    events: VecDeque<Arc<Event>>,
    floor: i64,
    capacity: usize,
}

pub struct Hub {
    /// Channel name (or [`channel::ALL_STORES`]) -> its subscribers.
    /// By subscriber id: a long-poll subscribes and unsubscribes once per answer,
    /// so removal must not scan the channel's other readers.
    channels: DashMap<String, IndexMap<u64, Arc<Subscriber>>>,
    ring: Mutex<Ring>,
    /// Id of the newest event published.
    head: AtomicI64,
    next_subscriber: AtomicU64,
    queue_capacity: usize,
    shutdown: CancellationToken,
    pub stats: HubStats,
}

/// A registered reader. Its queue ends (`recv` gives `None` once drained) when the
/// hub cuts it off or shuts down. Dropping it unregisters it.
///
/// Being cut off is the queue's close ([`queue::Receiver::poll_closed`],
/// [`queue::Receiver::watch`]): a reader blocked writing to a client that stopped
/// reading learns it there, with no token of its own to keep.
pub struct Subscription {
    hub: Arc<Hub>,
    id: u64,
    keys: Arc<[String]>,
    pub queue: queue::Receiver,
}

impl Subscription {
    /// A handle that ends this reader from elsewhere (its session ended), as an
    /// overflow does: what is queued is read, then the feed ends.
    pub fn closer(&self) -> Closer {
        Closer {
            hub: Arc::clone(&self.hub),
            id: self.id,
            keys: Arc::clone(&self.keys),
        }
    }
}

/// Ends one reader from outside the task that reads it (see
/// [`Subscription::closer`]); held by the connection registry, not by the
/// reader, so an idle reader carries nothing more.
pub struct Closer {
    hub: Arc<Hub>,
    id: u64,
    keys: Arc<[String]>,
}

impl Closer {
    /// Ends the reader's queue (a no-op for a reader already gone).
    pub fn close(&self) {
        self.hub.unregister(self.id, &self.keys);
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unregister(self.id, &self.keys);
    }
}

impl Hub {
    /// A hub whose log position starts at `head` (the log's newest id at start).
    pub fn new(
        head: i64,
        ring_capacity: usize,
        queue_capacity: usize,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            channels: DashMap::new(),
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(ring_capacity.min(1024)),
                floor: head,
                capacity: ring_capacity.max(1),
            }),
            head: AtomicI64::new(head),
            next_subscriber: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
            shutdown,
            stats: HubStats::default(),
        }
    }

    /// Id of the newest event the hub has published.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    /// The token cancelled at shutdown.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Registers a reader of `keys` (channel names, or [`channel::ALL_STORES`]).
    /// Register before reading any backlog, so nothing published meanwhile is missed.
    pub fn subscribe(self: &Arc<Self>, keys: Vec<String>, types: TypeFilter) -> Subscription {
        let (tx, rx) = queue::bounded(self.queue_capacity);
        let id = self.next_subscriber.fetch_add(1, Ordering::Relaxed);
        let keys: Arc<[String]> = keys.into();
        let subscriber = Arc::new(Subscriber {
            id,
            queue: tx,
            types,
            keys: Arc::clone(&keys),
            overflowed: AtomicBool::new(false),
        });
        for key in keys.iter() {
            // The channel's list is almost always there already (a long-poll
            // subscribes once per answer): the key is copied only to add one.
            let mut subs = match self.channels.get_mut(key.as_str()) {
                Some(subs) => subs,
                None => self.channels.entry(key.clone()).or_default(),
            };
            subs.insert(id, Arc::clone(&subscriber));
        }
        drop(subscriber);
        // [`Hub::close_at_shutdown`] cancels, then clears: registered before the
        // clear, this reader is cleared; after it, this check sees the cancel.
        if self.shutdown.is_cancelled() {
            self.unregister(id, &keys);
        }
        Subscription {
            hub: Arc::clone(self),
            id,
            keys,
            queue: rx,
        }
    }

    /// Removes a reader from its channels (dropping its queue's sender).
    fn unregister(&self, id: u64, keys: &[String]) {
        for key in keys {
            // One lookup: out of the list, and the list out of the map if that
            // emptied it.
            self.channels.remove_if_mut(key.as_str(), |_, subs| {
                subs.swap_remove(&id);
                subs.is_empty()
            });
        }
    }

    /// Waits for shutdown, then ends every reader's queue; readers write what they
    /// hold and finish.
    pub async fn close_at_shutdown(self: Arc<Self>) {
        self.shutdown.cancelled().await;
        self.channels.clear();
    }

    /// Publishes events in id order (the tailer's job; see its module).
    pub fn publish(&self, events: &[Arc<Event>]) {
        let Some(last) = events.last() else { return };
        // Ring first, then queues: a reader that registers while this runs either
        // gets an event on its queue or finds it in the ring; duplicates are dropped
        // by id in the feed.
        {
            let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            for e in events {
                if ring.events.len() == ring.capacity
                    && let Some(old) = ring.events.pop_front()
                {
                    ring.floor = old.id;
                }
                ring.events.push_back(Arc::clone(e));
            }
        }
        let mut overflowed = Vec::new();
        for e in events {
            self.deliver(&e.channel, e, &mut overflowed);
            if e.channel.starts_with("store:") {
                self.deliver(channel::ALL_STORES, e, &mut overflowed);
            }
        }
        // Outside `deliver`: it holds a read guard on the channel map.
        for s in overflowed {
            self.unregister(s.id, &s.keys);
        }
        self.stats
            .published
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        self.head.store(last.id, Ordering::Release);
    }

    fn deliver(&self, key: &str, event: &Arc<Event>, overflowed: &mut Vec<Arc<Subscriber>>) {
        let Some(subs) = self.channels.get(key) else {
            return;
        };
        for s in subs.values() {
            if s.overflowed.load(Ordering::Relaxed) || !s.types.matches(&event.event_type) {
                continue;
            }
            match s.queue.try_send(Arc::clone(event)) {
                Ok(()) => {
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(SendError::Full) => {
                    tracing::warn!(subscriber = s.id, "subscriber queue full: cutting it off");
                    self.stats.overflows.fetch_add(1, Ordering::Relaxed);
                    s.overflowed.store(true, Ordering::Relaxed);
                    overflowed.push(Arc::clone(s));
                }
                Err(SendError::Closed) => {}
            }
        }
    }

    /// Recent events after `cursor` that `wanted` accepts, at most `limit`, or `None`
    /// when the ring no longer reaches back to `cursor`.
    pub fn recent_after(
        &self,
        cursor: i64,
        limit: usize,
        wanted: impl Fn(&Event) -> bool,
    ) -> Option<Vec<Arc<Event>>> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        if cursor < ring.floor {
            return None;
        }
        let start = ring.events.partition_point(|e| e.id <= cursor);
        Some(
            ring.events
                .range(start..)
                .filter(|e| wanted(e))
                .take(limit)
                .cloned()
                .collect(),
        )
    }

    /// Whether the ring still holds every event after `cursor`.
    pub fn ring_covers(&self, cursor: i64) -> bool {
        cursor >= self.ring.lock().unwrap_or_else(|p| p.into_inner()).floor
    }

    /// Number of registered subscriptions (for metrics and tests).
    pub fn subscriber_count(&self) -> usize {
        let mut ids: Vec<u64> = self
            .channels
            .iter()
            .flat_map(|e| e.value().keys().copied().collect::<Vec<_>>())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::StoredEvent;

    fn ev(id: i64, channel: &str) -> Arc<Event> {
        Arc::new(Event::from_stored(&StoredEvent {
            id,
            channel: channel.into(),
            event_type: "announcement".into(),
            at: 0,
            data: "{}".into(),
        }))
    }

    fn hub(queue: usize) -> Arc<Hub> {
        Arc::new(Hub::new(0, 4, queue, CancellationToken::new()))
    }

    #[tokio::test]
    async fn events_reach_only_their_channel() {
        let hub = hub(8);
        let mut a = hub.subscribe(vec!["user:1".into()], TypeFilter::default());
        let mut b = hub.subscribe(vec!["user:2".into()], TypeFilter::default());
        hub.publish(&[ev(1, "user:1")]);
        assert_eq!(a.queue.recv().await.unwrap().id, 1);
        assert!(matches!(b.queue.try_recv(), queue::TryRecv::Empty));
        assert_eq!(hub.head(), 1);
    }

    #[tokio::test]
    async fn admins_get_every_store_channel() {
        let hub = hub(8);
        let mut admin = hub.subscribe(vec![channel::ALL_STORES.into()], TypeFilter::default());
        hub.publish(&[ev(1, "store:9"), ev(2, "user:1")]);
        assert_eq!(admin.queue.recv().await.unwrap().channel, "store:9");
        assert!(matches!(admin.queue.try_recv(), queue::TryRecv::Empty));
    }

    #[tokio::test]
    async fn a_full_queue_cuts_only_that_subscriber() {
        let hub = hub(2);
        let mut slow = hub.subscribe(vec!["products".into()], TypeFilter::default());
        let mut fast = hub.subscribe(vec!["products".into()], TypeFilter::default());
        for id in 1..=4 {
            hub.publish(&[ev(id, "products")]);
            assert_eq!(fast.queue.recv().await.unwrap().id, id);
        }
        assert!(slow.queue.is_closed());
        assert!(!fast.queue.is_closed());
        assert_eq!(hub.stats.overflows.load(Ordering::Relaxed), 1);
        // The cut reader gets what was queued before the gap, then its end.
        assert_eq!(slow.queue.recv().await.unwrap().id, 1);
        assert_eq!(slow.queue.recv().await.unwrap().id, 2);
        assert!(slow.queue.recv().await.is_none());
        assert_eq!(hub.subscriber_count(), 1);
    }

    #[tokio::test]
    async fn shutdown_ends_every_queue_and_refuses_new_readers() {
        let hub = hub(8);
        let mut before = hub.subscribe(vec!["products".into()], TypeFilter::default());
        hub.publish(&[ev(1, "products")]);
        let closing = tokio::spawn(Arc::clone(&hub).close_at_shutdown());
        hub.shutdown_token().cancel();
        closing.await.unwrap();
        assert_eq!(before.queue.recv().await.unwrap().id, 1);
        assert!(before.queue.recv().await.is_none());
        let mut after = hub.subscribe(vec!["products".into()], TypeFilter::default());
        assert!(after.queue.recv().await.is_none());
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[test]
    fn the_ring_answers_only_while_it_reaches_the_cursor() {
        let hub = hub(8);
        hub.publish(&(1..=6).map(|i| ev(i, "products")).collect::<Vec<_>>());
        // capacity 4: holds 3..=6, floor 2
        assert!(hub.recent_after(1, 10, |_| true).is_none());
        let got: Vec<i64> = hub
            .recent_after(2, 10, |_| true)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(got, vec![3, 4, 5, 6]);
        let got: Vec<i64> = hub
            .recent_after(4, 1, |_| true)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(got, vec![5]);
    }

    #[test]
    fn dropping_a_subscription_unregisters_it() {
        let hub = hub(8);
        let s = hub.subscribe(
            vec!["user:1".into(), "products".into()],
            TypeFilter::default(),
        );
        assert_eq!(hub.subscriber_count(), 1);
        drop(s);
        assert_eq!(hub.subscriber_count(), 0);
        assert!(hub.channels.is_empty());
    }

    #[tokio::test]
    async fn a_channel_keeps_its_other_readers_when_one_goes() {
        let hub = hub(8);
        let first = hub.subscribe(vec!["products".into()], TypeFilter::default());
        // Joins the list the first one made.
        let mut second = hub.subscribe(vec!["products".into()], TypeFilter::default());
        drop(first);
        assert_eq!(hub.subscriber_count(), 1);
        hub.publish(&[ev(1, "products")]);
        assert_eq!(second.queue.recv().await.unwrap().id, 1);
        // A reader that comes after the list was emptied and removed makes it again.
        drop(second);
        assert!(hub.channels.is_empty());
        let mut third = hub.subscribe(vec!["products".into()], TypeFilter::default());
        hub.publish(&[ev(2, "products")]);
        assert_eq!(third.queue.recv().await.unwrap().id, 2);
    }
}
