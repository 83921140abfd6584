//! The long-poll as both paths answer it (DESIGN.md §2, Transports).
//!
//! Answers at once with everything pending after `cursor` (up to a batch), else
//! waits until an event arrives (woken by the hub, not by polling the database),
//! else answers at the timeout: always `200 {"events": [...], "cursor": N}` with
//! [`HEADERS`], so a shell loop only has to feed `cursor` back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::events::Event;
use crate::events::feed::{Feed, FeedError, Opening};
use crate::events::params::{self, ParamError, StreamQuery};
use crate::metrics::Metrics;
use crate::settings::PushSettings;

/// The answer's headers besides its length (and date), lower-case, as both paths
/// send them: a poll's answer is never to be reused.
pub const HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("cache-control", "no-cache, no-store, no-transform"),
];

/// The poll's `timeout` parameter (refused when malformed or above the maximum).
pub fn timeout_of(query: &StreamQuery, push: &PushSettings) -> Result<Duration, ParamError> {
    params::parse_timeout(query.timeout.as_deref(), push.max_poll_timeout)
}

/// Where the wait is accounted: `poll_wait` from `started`, and `poll_timeouts`.
pub struct Waited<'a> {
    pub started: Instant,
    pub metrics: &'a Metrics,
}

/// The JSON body of one poll's answer once its feed is open: what is pending now,
/// else the first event within `timeout` and whatever follows it at once (up to
/// `limit`), else nothing. The wait also ends when `gone` resolves (the client
/// closed its connection), so an abandoned poll holds its feed no longer.
pub async fn answer(
    feed: &mut Feed,
    opening: &Opening,
    timeout: Duration,
    limit: usize,
    waited: Waited<'_>,
    gone: impl Future<Output = ()>,
) -> Result<String, FeedError> {
    let mut events: Vec<Arc<Event>> = Vec::new();
    // The client went before the timeout: not a timeout.
    let mut left = false;
    if opening.reset {
        events.push(Arc::new(feed.reset_event()));
    } else {
        drain(feed, &mut events, limit).await?;
        if events.is_empty() && !timeout.is_zero() {
            let first = tokio::select! {
                first = tokio::time::timeout(timeout, feed.next(true)) => first.ok(),
                () = gone => {
                    left = true;
                    None
                }
            };
            if let Some(first) = first
                && let Some(e) = first?
            {
                events.push(e);
                drain(feed, &mut events, limit).await?;
            }
        }
    }
    waited.metrics.poll_wait.observe(waited.started.elapsed());
    if events.is_empty() && !timeout.is_zero() && !left {
        waited.metrics.poll_timeouts.inc();
    }
    let mut body =
        String::with_capacity(48 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    body.push_str(r#"{"events":["#);
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    // The cursor as `itoa` writes it, not through `write!`: every answer's body
    // ends here, as its head does in `edge::head::response_head`.
    body.push_str(r#"],"cursor":"#);
    body.push_str(itoa::Buffer::new().format(feed.cursor()));
    body.push('}');
    Ok(body)
}

/// Takes everything ready now, without waiting, up to `limit`.
async fn drain(feed: &mut Feed, out: &mut Vec<Arc<Event>>, limit: usize) -> Result<(), FeedError> {
    while out.len() < limit {
        match feed.next(false).await? {
            Some(e) => out.push(e),
            None => break,
        }
    }
    Ok(())
}
