//! The lean SSE loop: a plain `GET /api/v1/events`, whether it came first on its
//! connection or after other requests ([`super::conn`]).
//!
//! The feed is opened as the actix handler opens it ([`feed_request`]); an error
//! gets the usual JSON error response and the connection closes. A stream answers
//! `Connection: close` with the headers of [`protocol::HEADERS`] and writes the raw
//! event stream, no chunking, until the client goes, the feed is cut (overflow,
//! shutdown) or a write fails. While idle it holds its socket, its feed and a
//! timer: no buffer.
//!
//! After the head the client has nothing more to send. The loop still waits on the
//! socket's readiness, to notice at once a client that closes (its slot is freed
//! then, not at the next failed heartbeat), and reads what arrives into a small
//! stack buffer: a client that sends more than [`MAX_AFTER_HEAD`] bytes is cut off,
//! so a flood costs a few reads, not a core.

use std::net::SocketAddr;
use std::task::Poll;
use std::time::Instant;

use actix_http::Request;
use actix_web::HttpMessage;
use actix_web::ResponseError;
use actix_web::web;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::head;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::Feed;
use crate::state::AppState;
use crate::transport::protocol::sse::{self as protocol, Heartbeat};
use crate::transport::request::feed_request;

/// The route's path, for the request log.
const PATH: &str = "/api/v1/events";
/// The most bytes a stream's client may send after its request head.
pub const MAX_AFTER_HEAD: usize = 1024;

/// Serves a stream request whose head has been read; `extra` bytes of the
/// connection were read past it.
pub async fn serve(
    mut io: TcpStream,
    state: web::Data<AppState>,
    request: Box<Request>,
    extra: usize,
) {
    let heartbeat = Heartbeat::new(state.settings.push.heartbeat);
    let (state_retry, state_spread) = (
        state.settings.push.retry,
        state.settings.push.restart_spread,
    );
    let peer = io.peer_addr().ok();
    // Boxed: authorising and opening need far more state than streaming, and that
    // state (the request head included) is freed before the stream starts.
    let Some(mut feed) = Box::pin(open(&mut io, state, request, peer)).await else {
        return;
    };
    // By reference: moved into `pump`, the socket and feed would take their space
    // twice in this future.
    let farewell = (state_retry, state_spread);
    pump(&mut io, &mut feed, heartbeat, extra, farewell).await;
}

/// Opens the feed and writes the response head and preamble; or writes the error
/// and returns `None`.
async fn open(
    io: &mut TcpStream,
    state: web::Data<AppState>,
    request: Box<Request>,
    peer: Option<SocketAddr>,
) -> Option<Feed> {
    let started = Instant::now();
    let span = tracing::info_span!("stream", user_id = tracing::field::Empty, transport = "sse");
    let retry = state.settings.push.retry;
    let origin = request.headers().get("origin").map(|v| v.as_bytes());
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

/// Streams until the client goes (or sends too much), the feed is cut, or a write
/// fails; what to write next comes from [`protocol::next_chunk`], the loop step
/// both paths share.
async fn pump(
    io: &mut TcpStream,
    feed: &mut Feed,
    mut heartbeat: Heartbeat,
    extra: usize,
    (retry, spread): (std::time::Duration, std::time::Duration),
) {
    let cut = feed.cut_token();
    let beat = heartbeat.timer();
    tokio::pin!(beat);
    let mut received = extra;
    loop {
        let gone = client_gone(io, &mut received);
        let Some((bytes, _)) =
            protocol::next_chunk(feed, &mut heartbeat, beat.as_mut(), gone).await
        else {
            break;
        };
        if !write_frame(io, &bytes, &cut).await {
            break;
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

/// Resolves when the client has closed, failed, or sent more than
/// [`MAX_AFTER_HEAD`] bytes in all (`received` counts them across calls). Waits on
/// the socket's readiness.
fn client_gone<'a>(io: &'a TcpStream, received: &'a mut usize) -> impl Future<Output = ()> + 'a {
    // `poll_read_ready` rather than `readable()`: no waiter node in the future,
    // which every idle stream keeps.
    std::future::poll_fn(move |cx| {
        loop {
            match io.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(())) if drained_and_gone(io, received) => return Poll::Ready(()),
                Poll::Ready(Ok(())) => {}
            }
        }
    })
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
