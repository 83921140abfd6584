//! One heartbeat clock per worker, for all of its lean streams.
//!
//! Why not a timer per stream: a `tokio::time::Sleep` is 112 bytes that every
//! idle stream keeps for its whole life, one of the largest parts of its state
//! (docs/performance.md, "where an idle stream's bytes go"). Here a stream keeps
//! the count of fires it has seen and a slot for its waker (about 40 bytes in
//! all), and one task per worker fires every period and wakes the streams.
//!
//! The rule stays the one of [`sse::Heartbeat`]: a fire that follows an event only
//! re-arms; one that follows a whole period of silence sends the comment. So a
//! comment still goes out after between one and two periods of silence; the
//! streams of a worker now send theirs at the same fire.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use slab::Slab;

use crate::transport::protocol::sse;

/// A worker's heartbeat clock.
pub struct Beats {
    /// Fires so far.
    fires: Cell<u64>,
    /// The wakers of the streams waiting, by slot.
    waiting: RefCell<Slab<Waker>>,
}

impl Beats {
    /// A clock firing every `period`, driven by a task on the current worker
    /// (which ends with the clock).
    pub fn start(period: Duration) -> Rc<Self> {
        let beats = Self::stopped();
        let weak = Rc::downgrade(&beats);
        tokio::task::spawn_local(tick(weak, period));
        beats
    }

    /// A clock that fires only when told ([`Beats::fire`]).
    fn stopped() -> Rc<Self> {
        Rc::new(Self {
            fires: Cell::new(0),
            waiting: RefCell::new(Slab::new()),
        })
    }

    /// One fire: every waiting stream is woken to look.
    fn fire(&self) {
        self.fires.set(self.fires.get() + 1);
        for (_, waker) in self.waiting.borrow().iter() {
            waker.wake_by_ref();
        }
    }
}

async fn tick(beats: Weak<Beats>, period: Duration) {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(beats) = beats.upgrade() else { return };
        beats.fire();
    }
}

/// One stream's heartbeat on its worker's clock. Dropping it frees its slot.
pub struct Beat {
    beats: Rc<Beats>,
    /// An event went out since the last fire.
    wrote: bool,
    /// The clock's fires when this stream last looked.
    seen: u64,
    /// Its waker's slot in the clock, once it waited.
    slot: Option<usize>,
}

impl Beat {
    /// A heartbeat on `beats`, for a stream that has just written (its preamble):
    /// the first fire only re-arms.
    pub fn new(beats: Rc<Beats>) -> Self {
        let seen = beats.fires.get();
        Self {
            beats,
            wrote: true,
            seen,
            slot: None,
        }
    }

    /// An event went out: the next fire sends nothing.
    pub fn wrote(&mut self) {
        self.wrote = true;
    }

    /// Ready with the comment when one is due; else waits for the next fire.
    pub fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Bytes> {
        let fires = self.beats.fires.get();
        if fires != self.seen {
            self.seen = fires;
            if let Some(comment) = sse::fired(&mut self.wrote) {
                return Poll::Ready(comment);
            }
        }
        let mut waiting = self.beats.waiting.borrow_mut();
        match self.slot.and_then(|s| waiting.get_mut(s)) {
            Some(w) => {
                if !w.will_wake(cx.waker()) {
                    w.clone_from(cx.waker());
                }
            }
            None => self.slot = Some(waiting.insert(cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Beat {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.beats.waiting.borrow_mut().try_remove(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::protocol::sse::HEARTBEAT;

    fn poll(beat: &mut Beat) -> Poll<Bytes> {
        let mut cx = Context::from_waker(Waker::noop());
        beat.poll_due(&mut cx)
    }

    #[test]
    fn a_comment_follows_a_whole_period_of_silence_only() {
        let beats = Beats::stopped();
        let mut beat = Beat::new(Rc::clone(&beats));
        assert!(poll(&mut beat).is_pending());
        assert_eq!(beats.waiting.borrow().len(), 1, "waits in one slot");

        beats.fire();
        assert!(poll(&mut beat).is_pending(), "the preamble just went out");
        beats.fire();
        assert_eq!(poll(&mut beat), Poll::Ready(Bytes::from_static(HEARTBEAT)));

        beat.wrote();
        beats.fire();
        assert!(poll(&mut beat).is_pending(), "an event went out meanwhile");
        beats.fire();
        beats.fire();
        assert_eq!(
            poll(&mut beat),
            Poll::Ready(Bytes::from_static(HEARTBEAT)),
            "fires missed while busy count as one"
        );
        assert!(poll(&mut beat).is_pending());
        assert_eq!(beats.waiting.borrow().len(), 1, "still one slot");

        drop(beat);
        assert!(beats.waiting.borrow().is_empty(), "a gone stream frees it");
    }

    #[test]
    fn a_fire_wakes_every_waiting_stream() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let count = std::sync::Arc::new(Count(Default::default()));
        let waker = Waker::from(std::sync::Arc::clone(&count));
        let beats = Beats::stopped();
        let mut streams: Vec<Beat> = (0..3).map(|_| Beat::new(Rc::clone(&beats))).collect();
        for s in &mut streams {
            assert!(s.poll_due(&mut Context::from_waker(&waker)).is_pending());
        }
        beats.fire();
        assert_eq!(count.0.load(std::sync::atomic::Ordering::Relaxed), 3);
    }
}
