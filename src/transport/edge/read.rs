//! Reading a request head off the socket: readiness-driven, into a bounded
//! per-connection buffer, by a deadline.
//!
//! A head that arrives in pieces costs one wake-up per piece and nothing while the
//! client is silent: the task waits on the socket's readiness, never on a timer
//! loop. The buffer grows to at most [`head::MAX_HEAD`] (and one read's worth);
//! past that the head is actix's. The number of connections reading their first
//! head at once is bounded by a semaphore ([`crate::settings::PushSettings`]'s
//! `max_unfinished_heads`): beyond it a new connection waits for a permit, reading
//! nothing, within the same deadline.

use bytes::{Buf, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Route;
use super::head::{self, Decision};

/// What the next request on a connection is.
pub enum Next {
    /// A plain stream or poll, its head consumed from the buffer.
    Lean(Route, Box<actix_http::Request>),
    /// A request for actix; the buffer holds its start, unconsumed.
    Actix,
    /// The client closed (or failed) before a whole head.
    Gone,
    /// No whole head by the deadline: answer 408 and close, as actix does.
    TimedOut,
}

/// When the wait for a head began, and how it ends if nothing comes.
pub enum Wait {
    /// A new connection: its head must be whole within [`head::HEAD_TIMEOUT`] of
    /// the accept, or it gets actix's 408.
    First,
    /// A kept-alive connection between requests: it may stay silent for `idle`
    /// (then, or at shutdown, it closes quietly, as actix's keep-alive does); once
    /// its first byte is there, the head has [`head::HEAD_TIMEOUT`].
    Later {
        idle: std::time::Duration,
        stop: CancellationToken,
    },
}

/// Reads until `buf` (which starts at a request boundary) holds a head that can be
/// decided ([`head::decide`]), under a permit of `heads` from the first byte on.
pub async fn next(io: &TcpStream, buf: &mut BytesMut, heads: &Semaphore, wait: Wait) -> Next {
    if let Wait::Later { idle, stop } = wait
        && buf.is_empty()
    {
        let deadline = Instant::now() + idle;
        loop {
            tokio::select! {
                ready = tokio::time::timeout_at(deadline, io.readable()) => {
                    if !matches!(ready, Ok(Ok(()))) {
                        return Next::Gone;
                    }
                }
                () = stop.cancelled() => return Next::Gone,
            }
            // Readiness can be stale: only bytes (or the end) end the idle wait.
            let mut first = [0u8; 512];
            match io.try_read(&mut first) {
                Ok(0) => return Next::Gone,
                Ok(n) => {
                    buf.extend_from_slice(&first[..n]);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return Next::Gone,
            }
        }
    }
    let deadline = Instant::now() + head::HEAD_TIMEOUT;
    let _permit = match tokio::time::timeout_at(deadline, heads.acquire()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => return Next::Gone,
        Err(_) => return Next::TimedOut,
    };
    head_by(io, buf, deadline).await
}

/// Reads until `buf` holds a head that can be decided, or until `deadline`.
async fn head_by(io: &TcpStream, buf: &mut BytesMut, deadline: Instant) -> Next {
    let mut fresh = buf.len();
    loop {
        // A head ends with a line feed: only new bytes with one can complete it.
        if fresh > 0 && buf[buf.len() - fresh..].contains(&b'\n') || buf.len() >= head::MAX_HEAD {
            match head::decide(buf) {
                Decision::Partial => {}
                Decision::Lean {
                    route,
                    request,
                    len,
                } => {
                    buf.advance(len);
                    if buf.is_empty() {
                        *buf = BytesMut::new();
                    }
                    return Next::Lean(route, request);
                }
                Decision::Actix { .. } | Decision::Through => return Next::Actix,
            }
        }
        match tokio::time::timeout_at(deadline, io.readable()).await {
            Err(_) => return Next::TimedOut,
            Ok(Err(_)) => return Next::Gone,
            Ok(Ok(())) => {}
        }
        if buf.capacity() - buf.len() < 256 {
            buf.reserve(if buf.is_empty() { 1024 } else { buf.len() });
        }
        match io.try_read_buf(buf) {
            Ok(0) => return Next::Gone,
            Ok(n) => fresh = n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => fresh = 0,
            Err(_) => return Next::Gone,
        }
    }
}
