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
use tokio::io::Interest;
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
                    if n < first.len() {
                        drained(io);
                    }
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
        let room = buf.capacity() - buf.len();
        match io.try_read_buf(buf) {
            Ok(0) => return Next::Gone,
            Ok(n) => {
                if n < room {
                    drained(io);
                }
                fresh = n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => fresh = 0,
            Err(_) => return Next::Gone,
        }
    }
}

/// Forgets the socket's read readiness after a read that did not fill its buffer
/// (the kernel had no more), as tokio's own `AsyncRead` does. Otherwise the next
/// wait on the socket (a waiting poll's watch for the client closing, the next
/// head) would first try a read the kernel answers "would block": one wasted
/// system call per request, a quarter of a long-poll loop's calls. Only that
/// readiness is forgotten: bytes or a close that arrive later are new readiness,
/// and a close already seen is kept (tokio never clears it).
fn drained(io: &TcpStream) {
    let would_block = || Err::<(), _>(std::io::Error::from(std::io::ErrorKind::WouldBlock));
    let _ = io.try_io(Interest::READABLE, would_block);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWriteExt;

    /// Whether the socket's read readiness is set, without reading.
    fn read_ready(io: &TcpStream) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        matches!(io.poll_read_ready(&mut cx), Poll::Ready(Ok(())))
    }

    #[tokio::test]
    async fn a_head_read_whole_leaves_no_readiness_to_try_and_a_close_is_still_seen() {
        // actix's decoder keeps its date on a local task.
        tokio::task::LocalSet::new()
            .run_until(read_a_whole_head())
            .await;
    }

    async fn read_a_whole_head() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let head = b"GET /api/v1/events/poll?timeout=5 HTTP/1.1\r\nHost: x\r\n\r\n";
        client.write_all(head).await.unwrap();
        let heads = Semaphore::new(1);
        let mut buf = BytesMut::new();
        let next = next(&server, &mut buf, &heads, Wait::First).await;
        assert!(matches!(next, Next::Lean(Route::Poll, _)));
        // Everything there was read: the next wait must not begin with a read
        // the kernel can only refuse (a system call per long-poll).
        assert!(
            !read_ready(&server),
            "a drained socket still reads as ready"
        );
        // ...and what comes later is heard: the client's close.
        drop(client);
        let mut byte = [0u8; 1];
        let peeked = tokio::time::timeout(HEAD_WAIT, server.peek(&mut byte)).await;
        assert!(
            matches!(peeked, Ok(Ok(0))),
            "the close was not seen: {peeked:?}"
        );
    }

    /// Bounds the wait for a close on loopback.
    const HEAD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
}
