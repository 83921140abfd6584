//! Server-Sent Events as both paths write them (DESIGN.md §2, Transports).
//!
//! A stream is [`HEADERS`], then the [`preamble`] (a `retry:` hint and a
//! `stream.open` event whose `id:` is the reader's cursor, so even a client that
//! got nothing yet can resume; `stream.reset` when its cursor is gone), then one
//! block per event ([`crate::events::Event::frame`]), several at once when they are
//! ready together ([`with_ready`]), and a comment while idle ([`Heartbeat`]).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Sleep;

use crate::events::Event;
use crate::events::feed::{Feed, FeedError, Opening};

/// The stream's response headers, lower-case, as both paths send them: never
/// compressed, never cached, never buffered by a proxy (nginx reads
/// `x-accel-buffering`).
pub const HEADERS: [(&str, &str); 4] = [
    ("content-type", "text/event-stream"),
    ("content-encoding", "identity"),
    ("cache-control", "no-cache, no-store, no-transform"),
    ("x-accel-buffering", "no"),
];

/// The heartbeat comment.
pub const HEARTBEAT: &[u8] = b": keep-alive\n\n";

/// Most bytes gathered into one write when several events are ready at once.
const BATCH_BYTES: usize = 64 * 1024;

/// The one heartbeat rule: a comment goes out once a whole period has passed with
/// nothing written. The timer is not re-armed per event (that is a timer-wheel
/// update per event per reader): it fires every period, and a fire that follows
/// an event only re-arms it, so a comment goes out after between one and two
/// periods of silence. Heartbeats keep proxies from closing an idle stream and
/// find clients that are gone.
pub struct Heartbeat {
    period: Duration,
    /// An event went out since the timer last fired.
    wrote: bool,
}

impl Heartbeat {
    /// A heartbeat every `period` (the `push.heartbeat` setting).
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            wrote: false,
        }
    }

    /// The timer for the first period; [`Heartbeat::fired`] re-arms it.
    pub fn timer(&self) -> Sleep {
        tokio::time::sleep(self.period)
    }

    /// An event went out: the timer's next fire sends nothing.
    pub fn wrote(&mut self) {
        self.wrote = true;
    }

    /// The timer fired: re-arms it for one more period and gives the comment to
    /// write, or `None` when an event went out since the last fire.
    pub fn fired(&mut self, timer: Pin<&mut Sleep>) -> Option<Bytes> {
        timer.reset(tokio::time::Instant::now() + self.period);
        fired(&mut self.wrote)
    }
}

/// The rule at a fire, for a clock of any kind (the lean path shares one per
/// worker, `edge::beat`): the comment, unless an event went out since the last
/// fire (`wrote`, which the fire clears).
pub fn fired(wrote: &mut bool) -> Option<Bytes> {
    (!std::mem::take(wrote)).then_some(Bytes::from_static(HEARTBEAT))
}

/// What every stream starts with: the `retry:` hint, `stream.open`, and
/// `stream.reset` when the client's cursor is gone.
pub fn preamble(feed: &Feed, opening: &Opening, retry: Duration) -> Bytes {
    let open = Feed::open_event(opening);
    let reset = opening.reset.then(|| feed.reset_event());
    let mut out = BytesMut::with_capacity(
        32 + open.frame.len() + reset.as_ref().map_or(0, |r| r.frame.len()),
    );
    out.extend_from_slice(format!("retry: {}\n\n", retry.as_millis()).as_bytes());
    out.extend_from_slice(&open.frame);
    if let Some(r) = reset {
        out.extend_from_slice(&r.frame);
    }
    out.freeze()
}

/// What a stream ends with when the server stops: a `retry:` of `base` plus a
/// random share of `spread`, so that the clients of an instance that restarts come
/// back spread over that window instead of all at once.
pub fn farewell(base: Duration, spread: Duration) -> Bytes {
    let extra = rand::random_range(0..=spread.as_millis() as u64);
    Bytes::from(format!("retry: {}\n\n", base.as_millis() as u64 + extra))
}

/// The event [`Feed::next`] gave, or `None` when the feed is cut (overflow or
/// shutdown) or failed: the stream ends and the client resumes.
pub fn first_event(next: Result<Option<Arc<Event>>, FeedError>) -> Option<Arc<Event>> {
    match next {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "stream ended by an error");
            None
        }
    }
}

/// What a stream writes next, by the one rule both paths loop on: the next
/// events (batched, [`with_ready`]), else a heartbeat comment when one is due
/// ([`Heartbeat`]); the flag says whether it carries events. `None` when the
/// stream ends: the feed was cut (overflow, shutdown) or failed, or `gone`
/// resolved (the lean path's client went; the actix path passes a future that
/// never resolves, actix notices a gone client itself). This is the one place a
/// stream waits: a reason to end streams is one more branch here.
pub async fn next_chunk(
    feed: &mut Feed,
    heartbeat: &mut Heartbeat,
    mut timer: Pin<&mut Sleep>,
    gone: impl Future<Output = ()>,
) -> Option<(Bytes, bool)> {
    tokio::pin!(gone);
    loop {
        tokio::select! {
            biased;
            next = feed.next(true) => {
                let first = first_event(next)?;
                heartbeat.wrote();
                return Some((with_ready(first, feed).await, true));
            }
            () = &mut gone => return None,
            () = &mut timer => {
                if let Some(comment) = heartbeat.fired(timer.as_mut()) {
                    return Some((comment, false));
                }
            }
        }
    }
}

/// The lean stream's step once [`Feed::poll_ready`] said ready: the events
/// ready now, batched; `Ok(None)` when none passed the reader's filter.
pub async fn ready_chunk(feed: &mut Feed) -> Result<Option<Bytes>, FeedError> {
    match feed.next(false).await? {
        Some(first) => Ok(Some(with_ready(first, feed).await)),
        None => Ok(None),
    }
}

/// `first` and whatever else is ready without waiting, as one buffer to write at
/// once (the event's shared block itself when nothing else is ready). Not to be
/// cancelled: it holds events already taken from the feed.
pub async fn with_ready(first: Arc<Event>, feed: &mut Feed) -> Bytes {
    let Some(second) = ready(feed).await else {
        return first.frame.clone();
    };
    let mut out = BytesMut::with_capacity(first.frame.len() + second.frame.len() * 4);
    out.extend_from_slice(&first.frame);
    out.extend_from_slice(&second.frame);
    while out.len() < BATCH_BYTES {
        match ready(feed).await {
            Some(e) => out.extend_from_slice(&e.frame),
            None => break,
        }
    }
    out.freeze()
}

/// The next event if one is ready now. An error here ends the batch; the next
/// [`Feed::next`] meets it again and ends the stream.
async fn ready(feed: &mut Feed) -> Option<Arc<Event>> {
    feed.next(false).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_comment_follows_a_whole_period_of_silence_only() {
        let period = Duration::from_millis(20);
        let mut beat = Heartbeat::new(period);
        let timer = beat.timer();
        tokio::pin!(timer);

        (&mut timer).await;
        assert_eq!(beat.fired(timer.as_mut()).as_deref(), Some(HEARTBEAT));
        beat.wrote();
        (&mut timer).await;
        assert_eq!(
            beat.fired(timer.as_mut()),
            None,
            "an event went out meanwhile"
        );
        let quiet = tokio::time::Instant::now();
        (&mut timer).await;
        assert!(quiet.elapsed() >= period, "re-armed for a whole period");
        assert_eq!(beat.fired(timer.as_mut()).as_deref(), Some(HEARTBEAT));
    }
}
