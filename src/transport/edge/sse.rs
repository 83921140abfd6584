//! The lean SSE loop: a plain `GET /api/v1/events`, whether it came first on its
//! connection or after other requests ([`super::conn`]).
//!
//! The feed is opened as the actix handler opens it ([`feed_request`]); an error
//! gets the usual JSON error response and the connection closes. A stream answers
//! `Connection: close` with the headers of [`protocol::HEADERS`] and writes the raw
//! event stream, no chunking, until the client goes, the feed is cut (overflow,
//! shutdown) or a write fails. While idle it holds its socket, its feed and a
//! slot on its worker's heartbeat clock ([`super::beat`]), and waits by polling
//! them ([`run`]): no buffer, no timer of its own, and no future of the feed's
//! or the write's size (those are boxed while they run).
//!
//! After the head the client has nothing more to send. The loop still waits on the
//! socket's readiness, to notice at once a client that closes (its slot is freed
//! then, not at the next failed heartbeat), and reads what arrives into a small
//! stack buffer: a client that sends more than [`MAX_AFTER_HEAD`] bytes is cut off,
//! so a flood costs a few reads, not a core.

use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::HttpMessage;
use actix_web::ResponseError;
use actix_web::http::header::ORIGIN;
use actix_web::web;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::Instrument;

use super::beat::{Beat, Beats};
use super::head;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::{Feed, Readiness};
use crate::state::AppState;
use crate::transport::protocol::sse as protocol;
use crate::transport::request::feed_request;

/// The route's path, for the request log.
const PATH: &str = "/api/v1/events";
/// The most bytes a stream's client may send after its request head.
pub const MAX_AFTER_HEAD: usize = 1024;

/// A stream whose response head and preamble are written: all that an idle
/// stream holds ([`run`]).
pub struct Stream {
    io: TcpStream,
    feed: Feed,
    /// Its heartbeat, on the worker's shared clock.
    beat: Beat,
    /// Bytes the client has sent past its request head (see [`MAX_AFTER_HEAD`]).
    received: usize,
    /// The `retry:` base and spread of the farewell at shutdown.
    farewell: (Duration, Duration),
}

/// Opens the stream for a request whose head has been read (`extra` bytes of the
/// connection were read past it): the feed, the response head and preamble. An
/// error is answered here, and then there is no stream.
pub async fn open(
    mut io: TcpStream,
    state: web::Data<AppState>,
    beats: Rc<Beats>,
    request: Box<Request>,
    extra: usize,
) -> Option<Stream> {
    let farewell = (
        state.settings.push.retry,
        state.settings.push.restart_spread,
    );
    let peer = io.peer_addr().ok();
    // Boxed: authorising and opening need far more state than streaming, and that
    // state (the request head included) is freed before the stream starts.
    let feed = Box::pin(open_feed(&mut io, state, request, peer)).await?;
    Some(Stream {
        io,
        feed,
        beat: Beat::new(beats),
        received: extra,
        farewell,
    })
}

/// Opens the feed and writes the response head and preamble; or writes the error
/// and returns `None`.
async fn open_feed(
    io: &mut TcpStream,
    state: web::Data<AppState>,
    request: Box<Request>,
    peer: Option<SocketAddr>,
) -> Option<Feed> {
    let started = Instant::now();
    let span = tracing::info_span!("stream", user_id = tracing::field::Empty, transport = "sse");
    let retry = state.settings.push.retry;
    let origin = request.headers().get(ORIGIN).map(|v| v.as_bytes());
    let cors = Cors::head_lines(state.cors.allowed(origin));
    let opened = async {
        let query = request.uri().query().unwrap_or("");
        let feed_request = feed_request(&state, request.headers(), query, peer).await?;
        drop(request);
        let opened = Feed::open(&state.feeds, feed_request, Transport::Sse).await;
        Ok::<_, ApiError>(opened?)
    }
    .instrument(span)
    .await;
    let status = match opened {
        Ok((feed, opening)) => {
            let mut out = stream_head(&cors);
            out.extend_from_slice(&protocol::preamble(&feed, &opening, retry));
            let sent = io.write_all(&out).await.is_ok();
            state.metrics.log_request("GET", PATH, 200, started, true);
            return sent.then_some(feed);
        }
        Err(e) => {
            let status = e.status_code().as_u16();
            head::write_error(io, &e, &cors).await;
            status
        }
    };
    state
        .metrics
        .log_request("GET", PATH, status, started, true);
    None
}

/// The stream's response head: [`protocol::HEADERS`], `connection: close` (the
/// stream is the rest of the connection), the CORS lines, the blank line.
fn stream_head(cors: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    head::header_lines(&mut out, &protocol::HEADERS);
    out.extend_from_slice(b"connection: close\r\n");
    out.extend_from_slice(cors.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// What woke an idle stream.
enum Wake {
    /// The feed may have events ([`Feed::poll_ready`]).
    Ready,
    /// A heartbeat comment is due.
    Due(Bytes),
    /// The feed has ended (cut off, shut down, session gone).
    Ended,
    /// The client closed, failed, or sent too much.
    Gone,
}

/// Streams until the client goes (or sends too much), the feed ends, or a write
/// fails: the rule of [`protocol::next_chunk`], written as a poll so that an idle
/// stream holds only its socket, feed and heartbeat. What runs once it
/// wakes (reading a backlog, batching events, a write the socket could not take
/// at once) is boxed, for as long as it runs.
pub async fn run(s: &mut Stream) {
    loop {
        let wake = std::future::poll_fn(|cx| s.poll_wake(cx)).await;
        let chunk = match wake {
            Wake::Ended | Wake::Gone => break,
            Wake::Due(comment) => comment,
            Wake::Ready => match Box::pin(protocol::ready_chunk(&mut s.feed)).await {
                Ok(Some(events)) => {
                    s.beat.wrote();
                    events
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "stream ended by an error");
                    break;
                }
            },
        };
        let written = match s.io.try_write(&chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(_) => break,
        };
        // Almost always the socket takes the chunk at once, and nothing is
        // registered to wait on; else the rest is written boxed (a client that
        // is not reading is rare, and its wait is large).
        if written < chunk.len()
            && !Box::pin(write_rest(&mut s.io, chunk.slice(written..), &s.feed)).await
        {
            break;
        }
    }
    if s.feed.shutting_down() {
        // The server stops: say when to come back (best effort: the client may
        // be gone already).
        let (retry, spread) = s.farewell;
        let _ = s.io.try_write(&protocol::farewell(retry, spread));
    }
    let _ = s.io.shutdown().await;
}

impl Stream {
    /// The idle wait, in [`protocol::next_chunk`]'s order: the feed first, then
    /// the client, then the heartbeat. The socket's readiness is watched to
    /// notice at once a client that closes (its slot is freed then, not at the
    /// next failed heartbeat).
    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        if let Poll::Ready(readiness) = self.feed.poll_ready(cx) {
            return Poll::Ready(match readiness {
                Readiness::Ready => Wake::Ready,
                Readiness::Ended => Wake::Ended,
            });
        }
        if self.poll_gone(cx).is_ready() {
            return Poll::Ready(Wake::Gone);
        }
        self.beat.poll_due(cx).map(Wake::Due)
    }

    /// Ready when the client has closed, failed, or sent more than
    /// [`MAX_AFTER_HEAD`] bytes in all. `poll_read_ready` rather than
    /// `readable()`: no waiter node kept in every idle stream.
    fn poll_gone(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.io.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(())) if drained_and_gone(&self.io, &mut self.received) => {
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(())) => {}
            }
        }
    }
}

/// Writes the rest of a chunk that the socket could not take at once; false
/// when the client is gone or the feed was cut while the client was not reading.
async fn write_rest(io: &mut TcpStream, rest: Bytes, feed: &Feed) -> bool {
    tokio::select! {
        r = io.write_all(&rest) => r.is_ok(),
        () = std::future::poll_fn(|cx| feed.poll_cut(cx)) => false,
    }
}

/// Reads what the client sent, into a small buffer that lives only here; true
/// when it has closed, failed, or sent too much.
fn drained_and_gone(io: &TcpStream, received: &mut usize) -> bool {
    let mut sink = [0u8; 256];
    loop {
        if *received > MAX_AFTER_HEAD {
            return true;
        }
        match io.try_read(&mut sink) {
            Ok(0) => return true,
            Ok(n) => *received += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lean_stream_sends_the_actix_handlers_headers() {
        let actix = crate::transport::sse::response().finish();
        let mut actix: Vec<(String, String)> = actix
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect();
        actix.sort();

        let written = stream_head("");
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut headers);
        assert!(parsed.parse(&written).unwrap().is_complete());
        assert_eq!(parsed.code, Some(200));
        let mut lean: Vec<(String, String)> = parsed
            .headers
            .iter()
            .filter(|h| h.name != "connection")
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        lean.sort();

        assert_eq!(lean, actix);
        assert_eq!(lean.len(), protocol::HEADERS.len());
    }
}
