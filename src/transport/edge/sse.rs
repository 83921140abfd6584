//! The lean SSE loop: `GET /api/v1/events` as the first request of a connection.
//!
//! The request head is read into a temporary buffer that is freed before the
//! stream starts; the feed is opened as the actix handler opens it; an error gets
//! the usual JSON error response and the connection closes. A stream answers
//! `Connection: close` with the headers of [`protocol::sse::HEADERS`] and writes
//! the raw event stream, no chunking, until the client goes, the feed is cut
//! (overflow, shutdown) or a write fails. While idle it holds its socket, its feed
//! and a timer: no buffer.

use std::time::Instant;

use actix_web::ResponseError;
use actix_web::web;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::feed_request;
use super::head::{self, HeadError};
use crate::cors::Cors;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::Feed;
use crate::state::AppState;
use crate::transport::protocol::sse::{self as protocol, Heartbeat};

/// The route's path, for the request log.
const PATH: &str = "/api/v1/events";

/// Serves one connection whose first request is `GET /api/v1/events`.
pub async fn serve(mut io: TcpStream, state: web::Data<AppState>) {
    let heartbeat = Heartbeat::new(state.settings.push.heartbeat);
    let farewell = (
        state.settings.push.retry,
        state.settings.push.restart_spread,
    );
    // Boxed: reading, authorising and opening need far more state than streaming,
    // and that state is freed before the stream starts.
    let Some(mut feed) = Box::pin(open(&mut io, state)).await else {
        return;
    };
    // By reference: moved into `pump`, the socket and feed would take their space
    // twice in this future.
    pump(&mut io, &mut feed, heartbeat, farewell).await;
}

/// Reads the request, opens the feed and writes the response head and preamble;
/// or writes the error and returns `None`.
async fn open(io: &mut TcpStream, state: web::Data<AppState>) -> Option<Feed> {
    let started = Instant::now();
    let span = tracing::info_span!("stream", user_id = tracing::field::Empty, transport = "sse");
    let retry = state.settings.push.retry;
    let mut cors = String::new();
    let opened = async {
        let head = head::read_head(io).await?;
        cors = Cors::head_lines(state.cors.allowed(head.origin.as_deref()));
        let remote = io.peer_addr().ok().map(|a| a.ip());
        let request = feed_request(&state, head, remote).await?;
        let opened = Feed::open(&state.feeds, request, Transport::Sse).await;
        Ok::<_, HeadError>(opened.map_err(ApiError::from)?)
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
        Err(HeadError::Gone) => return None,
        Err(HeadError::Api(e)) => {
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

/// Streams until the client goes, the feed is cut, or a write fails; heartbeats
/// by the one rule of [`Heartbeat`].
async fn pump(
    io: &mut TcpStream,
    feed: &mut Feed,
    mut heartbeat: Heartbeat,
    (retry, spread): (std::time::Duration, std::time::Duration),
) {
    let cut = feed.cut_token();
    let beat = heartbeat.timer();
    tokio::pin!(beat);
    loop {
        let (bytes, is_event) = tokio::select! {
            biased;
            next = feed.next(true) => match protocol::first_event(next) {
                Some(e) => (protocol::with_ready(e, feed).await, true),
                None => break,
            },
            ready = std::future::poll_fn(|cx| io.poll_read_ready(cx)) => {
                if ready.is_err() || client_gone(io) {
                    break;
                }
                continue;
            }
            () = &mut beat => match heartbeat.fired(beat.as_mut()) {
                Some(comment) => (comment, false),
                None => continue,
            },
        };
        if !write_frame(io, &bytes, &cut).await {
            break;
        }
        if is_event {
            heartbeat.wrote();
        }
    }
    if feed.shutting_down() {
        // The server stops: say when to come back (best effort: the client may
        // be gone already).
        let _ = io.try_write(&protocol::farewell(retry, spread));
    }
    let _ = io.shutdown().await;
}

/// Writes `bytes` whole; false when the client is gone or the feed was cut while
/// the client was not reading. Almost always the socket buffer takes the frame at
/// once, and then nothing is registered to wait on.
async fn write_frame(io: &mut TcpStream, bytes: &[u8], cut: &CancellationToken) -> bool {
    let rest = match io.try_write(bytes) {
        Ok(n) if n == bytes.len() => return true,
        Ok(n) => &bytes[n..],
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => bytes,
        Err(_) => return false,
    };
    tokio::select! {
        r = io.write_all(rest) => r.is_ok(),
        () = cut.cancelled() => false,
    }
}

/// Reads whatever the client sent after its request (nothing is expected) and says
/// whether it closed the connection. Reads a bounded amount per wake-up so a client
/// that keeps sending cannot hold the worker.
fn client_gone(io: &TcpStream) -> bool {
    let mut sink = [0u8; 64];
    for _ in 0..16 {
        match io.try_read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
    false
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
