//! Subscriber connections: open a stream, count what arrives, stop when told.
//!
//! One task per connection. Tasks report into a shared [`Tally`] (atomic
//! counters plus the latency samples) rather than returning values, so the
//! scenario can watch progress live and stop as soon as everything has arrived.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::timeout;

use crate::cli::Transport;
use crate::error::{Error, Result};
use crate::http::{BodyDecoder, Conn};
use crate::sse::SseParser;
use crate::stamp::{self, Stamp};
use crate::target::{PollState, Stream, Target};

/// Bound on connecting and on waiting for response headers.
const SETUP_TIMEOUT: Duration = Duration::from_secs(15);

/// One subscriber to start.
#[derive(Debug, Clone)]
pub struct Sub {
    pub stream: Stream,
    /// Source address to bind before connecting.
    pub source: Option<IpAddr>,
}

/// One event received, with its end-to-end latency.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub seq: u64,
    pub latency_us: u64,
}

/// Everything the subscribers of a run report.
#[derive(Debug, Default)]
pub struct Tally {
    /// Subscribed (stream open / first poll answered).
    pub established: AtomicUsize,
    /// Never got subscribed.
    pub failed: AtomicUsize,
    /// Were subscribed, then lost the connection before the run ended.
    pub dropped: AtomicUsize,
    /// Long-poll connections re-opened after the server closed a kept-alive one.
    pub reconnects: AtomicU64,
    pub delivered: AtomicU64,
    pub duplicates: AtomicU64,
    /// Events that carried another user's id (unicast): must be zero.
    pub misrouted: AtomicU64,
    /// SSE comment lines seen (heartbeats).
    pub heartbeats: AtomicU64,
    pub deliveries: Mutex<Vec<Delivery>>,
    /// A few error messages by kind, for the report.
    pub errors: Mutex<BTreeMap<String, usize>>,
    /// Stamps older than this are leftovers of an earlier run and are ignored.
    pub run_start_us: u64,
}

impl Tally {
    pub fn new(run_start_us: u64) -> Self {
        Tally {
            run_start_us,
            ..Default::default()
        }
    }

    /// Records an error message, keeping one count per distinct message.
    pub fn error(&self, e: &Error) {
        if let Ok(mut m) = self.errors.lock()
            && (m.len() < 20 || m.contains_key(&e.0))
        {
            *m.entry(e.0.clone()).or_default() += 1;
        }
    }

    /// Errors as a JSON object.
    pub fn errors_json(&self) -> serde_json::Value {
        match self.errors.lock() {
            Ok(m) => serde_json::json!(*m),
            Err(_) => serde_json::json!({}),
        }
    }

    /// Takes the latency samples, leaving the list empty.
    pub fn take_deliveries(&self) -> Vec<Delivery> {
        self.deliveries
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Per-connection bookkeeping of what it has seen.
struct Seen {
    user: Option<u64>,
    seqs: HashSet<u64>,
}

impl Seen {
    fn new(stream: &Stream) -> Self {
        let user = match stream {
            Stream::User { id, .. } => Some(*id),
            Stream::Public => None,
        };
        Seen {
            user,
            seqs: HashSet::new(),
        }
    }

    fn record(&mut self, s: Stamp, tally: &Tally) {
        if s.sent_us < tally.run_start_us {
            return;
        }
        if s.user.is_some() && s.user != self.user {
            tally.misrouted.fetch_add(1, Relaxed);
            return;
        }
        if !self.seqs.insert(s.seq) {
            tally.duplicates.fetch_add(1, Relaxed);
            return;
        }
        let latency_us = stamp::now_us().saturating_sub(s.sent_us);
        tally.delivered.fetch_add(1, Relaxed);
        if let Ok(mut v) = tally.deliveries.lock() {
            v.push(Delivery {
                seq: s.seq,
                latency_us,
            });
        }
    }
}

/// Runs one subscriber until `stop` turns true or its connection fails.
pub async fn run(
    target: Arc<Target>,
    sub: Sub,
    transport: Transport,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) {
    let mut subscribed = false;
    let work = async {
        match transport {
            Transport::Sse => sse(&target, &sub, &tally, &mut subscribed).await,
            Transport::Poll => poll(&target, &sub, &tally, &mut subscribed).await,
        }
    };
    let outcome = tokio::select! {
        r = work => Some(r),
        _ = stop.wait_for(|s| *s) => None,
    };
    // `subscribed` is only read after `work` is done or dropped.
    match outcome {
        None => {}
        Some(r) => {
            let e = r.err().unwrap_or_else(|| Error::msg("stream ended"));
            tally.error(&e);
            if subscribed {
                tally.dropped.fetch_add(1, Relaxed);
            } else {
                tally.failed.fetch_add(1, Relaxed);
            }
        }
    }
}

fn mark_subscribed(tally: &Tally, subscribed: &mut bool) {
    if !*subscribed {
        *subscribed = true;
        tally.established.fetch_add(1, Relaxed);
    }
}

/// Connects; with `after_request`, sends a `GET /healthz` first and reads its
/// answer, so the stream is the connection's second request.
async fn connect(target: &Target, sub: &Sub) -> Result<Conn> {
    let mut conn = timeout(SETUP_TIMEOUT, Conn::connect(&target.ep, sub.source)).await??;
    if target.after_request {
        let resp = timeout(SETUP_TIMEOUT, conn.roundtrip(&target.warm_up_request())).await??;
        if resp.head.status != 200 || !conn.reusable {
            return Err(Error(format!(
                "warm-up request answered {} (kept alive: {})",
                resp.head.status, conn.reusable
            )));
        }
    }
    Ok(conn)
}

/// Reads one SSE stream until it ends. Returns only on error or end of stream.
async fn sse(target: &Target, sub: &Sub, tally: &Tally, subscribed: &mut bool) -> Result<()> {
    let mut conn = connect(target, sub).await?;
    conn.send(&target.sse_request(&sub.stream)).await?;
    let head = timeout(SETUP_TIMEOUT, conn.read_head()).await??;
    if head.status != 200 {
        return Err(Error(format!("subscribe answered {}", head.status)));
    }
    if target.sse_ready_on_head() {
        mark_subscribed(tally, subscribed);
    }
    let mut dec = BodyDecoder::new(head.framing());
    let mut parser = SseParser::default();
    let mut seen = Seen::new(&sub.stream);
    let mut body = Vec::with_capacity(512);
    loop {
        let done = conn.read_body_some(&mut dec, &mut body).await?;
        let comments_before = parser.comments;
        let mut ready = false;
        parser.feed(&body, |ev| {
            if target.sse_ready_event(&ev) {
                ready = true;
            }
            if let Some(s) = stamp::find(&ev.data) {
                seen.record(s, tally);
            }
        });
        body.clear();
        if ready {
            mark_subscribed(tally, subscribed);
        }
        if parser.comments > comments_before {
            tally
                .heartbeats
                .fetch_add(parser.comments - comments_before, Relaxed);
        }
        if done {
            return Err(Error::msg("stream ended"));
        }
    }
}

/// Long-polls until an error. A connection the server closes between polls is
/// re-opened (that is normal keep-alive behaviour, not a failure).
async fn poll(target: &Target, sub: &Sub, tally: &Tally, subscribed: &mut bool) -> Result<()> {
    let mut st = PollState::default();
    let mut seen = Seen::new(&sub.stream);
    let mut conn = connect(target, sub).await?;
    // A poll may legitimately wait for the server's timeout; allow a margin.
    let wait = Duration::from_secs(target.poll_timeout + 15);
    loop {
        if !conn.reusable {
            conn = connect(target, sub).await?;
            tally.reconnects.fetch_add(1, Relaxed);
        }
        conn.send(&target.poll_request(&sub.stream, &st)).await?;
        if target.poll_ready_on_send() {
            mark_subscribed(tally, subscribed);
        }
        let resp = timeout(wait, async {
            let head = conn.read_head().await?;
            let body = conn.read_body(&head, 16 * 1024 * 1024).await?;
            Ok::<_, Error>(crate::http::Response { head, body })
        })
        .await??;
        for s in target.poll_response(&resp, &mut st)? {
            seen.record(s, tally);
        }
        mark_subscribed(tally, subscribed);
    }
}
