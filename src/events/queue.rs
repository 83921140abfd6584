//! One reader's queue of events: bounded, filled by the hub, read by one feed.
//!
//! Why not `tokio::sync::mpsc`: a bounded tokio channel allocates its shared state
//! (cache-padded, 512 bytes) and a first block of 32 slots (288 bytes) when it is
//! made, for the whole life of the reader, whether anything is ever sent. A push
//! server's readers are mostly idle, so that was the largest part of an idle
//! stream after its task (docs/performance.md, "where an idle stream's bytes go").
//! Here an idle reader holds one small allocation: a lock around an empty
//! `VecDeque` (no buffer until the first event) and a waker slot.
//!
//! The semantics are the channel's that the hub relied on: sends never wait
//! ([`Sender::try_send`] says `Full`, and the hub cuts that reader off); the
//! reader gets everything queued before the queue was closed, then `None`; the
//! queue closes when the hub's side ([`Sender`]) is dropped, which happens when
//! the reader is removed from every channel list.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use super::Event;

/// A drained queue whose buffer grew past this many slots gives it back, so one
/// burst does not stay in an idle reader's memory.
const KEEP_SLOTS: usize = 16;

struct Shared {
    state: Mutex<State>,
    /// The reader waiting for an event or the close.
    waker: AtomicWaker,
    capacity: usize,
}

struct State {
    events: VecDeque<Arc<Event>>,
    closed: bool,
    /// A [`Watch`] waiting for the close.
    watcher: Option<std::task::Waker>,
}

/// The hub's end. Dropping it closes the queue.
pub struct Sender {
    shared: Arc<Shared>,
}

/// The reader's end.
pub struct Receiver {
    shared: Arc<Shared>,
}

/// What [`Receiver::try_recv`] finds.
#[derive(Debug)]
pub enum TryRecv {
    Event(Arc<Event>),
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and nothing ever will be.
    Closed,
}

/// Why [`Sender::try_send`] did not queue the event.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The queue holds `capacity` events already.
    Full,
    /// The reader is gone.
    Closed,
}

/// A queue holding at most `capacity` events (at least one).
pub fn bounded(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            events: VecDeque::new(),
            closed: false,
            watcher: None,
        }),
        waker: AtomicWaker::new(),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent queue (each
        // operation is one push or pop), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the queue closed and wakes its [`Watch`].
    fn close(&self) {
        let watcher = {
            let mut state = self.state();
            state.closed = true;
            state.watcher.take()
        };
        if let Some(w) = watcher {
            w.wake();
        }
    }
}

impl Sender {
    /// Queues `event` without waiting, and wakes the reader.
    pub fn try_send(&self, event: Arc<Event>) -> Result<(), SendError> {
        {
            let mut state = self.shared.state();
            if state.closed {
                return Err(SendError::Closed);
            }
            if state.events.len() >= self.shared.capacity {
                return Err(SendError::Full);
            }
            state.events.push_back(event);
        }
        self.shared.waker.wake();
        Ok(())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shared.close();
        self.shared.waker.wake();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Nothing more will be read: free what is queued, refuse what comes.
        let queued = std::mem::take(&mut self.shared.state().events);
        drop(queued);
        self.shared.close();
    }
}

impl Receiver {
    /// The next event queued, without waiting.
    pub fn try_recv(&mut self) -> TryRecv {
        let mut state = self.shared.state();
        match state.events.pop_front() {
            Some(e) => {
                if state.events.is_empty() && state.events.capacity() > KEEP_SLOTS {
                    state.events = VecDeque::new();
                }
                TryRecv::Event(e)
            }
            None if state.closed => TryRecv::Closed,
            None => TryRecv::Empty,
        }
    }

    /// Waits for the next event; `None` once the queue is closed and drained.
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Whether the queue is closed (the hub cut this reader off or shut down),
    /// whatever it still holds.
    pub fn is_closed(&self) -> bool {
        self.shared.state().closed
    }

    /// Ready once the queue is closed, whatever it still holds: how a reader
    /// blocked on something else (a client that is not reading) learns that it
    /// was cut off. Registers the reader's waker, as [`Receiver::poll_recv`] does.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_closed() {
            return Poll::Ready(());
        }
        self.shared.waker.register(cx.waker());
        if self.is_closed() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// A handle that learns when the queue closes, from either end (the hub's
    /// cut, or the reader gone), for a task that outlives neither.
    pub fn watch(&self) -> Watch {
        Watch {
            shared: Arc::clone(&self.shared),
        }
    }

    /// [`Receiver::recv`] as a poll.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Arc<Event>>> {
        match self.try_recv() {
            TryRecv::Event(e) => return Poll::Ready(Some(e)),
            TryRecv::Closed => return Poll::Ready(None),
            TryRecv::Empty => {}
        }
        self.shared.waker.register(cx.waker());
        // Again after registering: an event sent in between woke nobody.
        match self.try_recv() {
            TryRecv::Event(e) => Poll::Ready(Some(e)),
            TryRecv::Closed => Poll::Ready(None),
            TryRecv::Empty => Poll::Pending,
        }
    }
}

/// Learns when a queue closes ([`Receiver::watch`]); one waiter at a time.
pub struct Watch {
    shared: Arc<Shared>,
}

impl Watch {
    /// Resolves once the queue is closed: the hub cut its reader off or shut
    /// down, or the reader is gone.
    pub async fn closed(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.shared.state();
            if state.closed {
                return Poll::Ready(());
            }
            state.watcher = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::StoredEvent;

    fn ev(id: i64) -> Arc<Event> {
        Arc::new(Event::from_stored(&StoredEvent {
            id,
            channel: "announcements".into(),
            event_type: "announcement".into(),
            at: 0,
            data: "{}".into(),
        }))
    }

    #[tokio::test]
    async fn events_come_in_order_then_the_close() {
        let (tx, mut rx) = bounded(4);
        tx.try_send(ev(1)).unwrap();
        tx.try_send(ev(2)).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await.unwrap().id, 1);
        assert_eq!(rx.recv().await.unwrap().id, 2);
        assert!(rx.recv().await.is_none());
        assert!(matches!(rx.try_recv(), TryRecv::Closed));
    }

    #[test]
    fn a_full_queue_refuses_and_a_gone_reader_closes_it() {
        let (tx, rx) = bounded(2);
        tx.try_send(ev(1)).unwrap();
        tx.try_send(ev(2)).unwrap();
        assert_eq!(tx.try_send(ev(3)), Err(SendError::Full));
        drop(rx);
        assert_eq!(tx.try_send(ev(4)), Err(SendError::Closed));
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_a_send_from_another_thread() {
        let (tx, mut rx) = bounded(8);
        let sender = std::thread::spawn(move || {
            for id in 1..=3 {
                tx.try_send(ev(id)).unwrap();
            }
        });
        for id in 1..=3 {
            assert_eq!(rx.recv().await.unwrap().id, id);
        }
        sender.join().unwrap();
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_watch_hears_the_close_from_either_end() {
        let (tx, rx) = bounded(4);
        tx.try_send(ev(1)).unwrap();
        let watch = rx.watch();
        let waiting = tokio::spawn(async move { watch.closed().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(tx);
        waiting.await.unwrap();
        assert!(rx.is_closed(), "closed while it still holds an event");

        let (_tx, rx) = bounded(4);
        let watch = rx.watch();
        let waiting = tokio::spawn(async move { watch.closed().await });
        tokio::task::yield_now().await;
        drop(rx);
        waiting.await.unwrap();
    }

    #[test]
    fn a_drained_queue_gives_back_a_grown_buffer() {
        let (tx, mut rx) = bounded(1024);
        for id in 0..100 {
            tx.try_send(ev(id)).unwrap();
        }
        while let TryRecv::Event(_) = rx.try_recv() {}
        assert_eq!(rx.shared.state().events.capacity(), 0);
    }
}
