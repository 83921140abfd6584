//! The lean long-poll path: `GET /api/v1/events/poll` served straight off the
//! socket, with keep-alive.
//!
//! A connection whose first request is a long-poll ([`super::peek_route`]) is
//! served here, request after request, as long as each is again a plain long-poll
//! (HTTP/1.1, no body: [`Head::plain`]). Heads are peeked and consumed
//! only once taken ([`next_poll`]), never read past: the first request
//! that is anything else (another route, HTTP/1.0, a body, a head too large or
//! malformed), pipelined or not, is still whole in the socket when the connection is
//! handed back to actix ([`serve`] returns it), which serves it and the rest.
//!
//! Each poll is authorised, opened and answered as the actix handler does it
//! ([`super::feed_request`], [`Feed::open`], [`protocol::answer`]), with the same
//! headers ([`protocol::HEADERS`] and CORS; actix's order varies, the lines are the
//! same), error bodies, request log and metrics. `Connection: close` is
//! honoured; an idle connection is closed after [`KEEP_ALIVE`], as actix does, and
//! at shutdown. A client that closes while its poll waits ends the wait at once and
//! its reader is unregistered. Between polls, and while one waits, a connection holds
//! no buffer: heads are parsed from a buffer that lives only while they are read.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::web;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::head::{self, Head};
use super::{Route, classify, feed_request, pause_until};
use crate::cors::Cors;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::{Feed, Opening};
use crate::state::AppState;
use crate::transport::protocol::poll::{self as protocol, Waited};

/// How long a connection may stay idle between requests: actix's default
/// keep-alive, which `startup.rs` gives the actix side too.
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(5);
/// The route's path, for the request log.
const PATH: &str = "/api/v1/events/poll";

/// Serves a connection whose next request is a long-poll, as long as its requests
/// are; returns it, its next request unread, when that request is for actix, and
/// `None` when the connection is done (closed by either side, idle, shutdown).
pub async fn serve(mut io: TcpStream, state: web::Data<AppState>) -> Option<TcpStream> {
    let _ = io.set_nodelay(true);
    let remote = io.peer_addr().ok().map(|a| a.ip());
    loop {
        let head = match next_poll(&mut io, &state.shutdown).await {
            Peeked::Head(head) => head,
            Peeked::Actix => return Some(io),
            Peeked::Gone => return None,
        };
        // Not boxed: a long-poll connection spends nearly all its life waiting, so
        // its poll's state (about 2 KB with the opening's) lives in the
        // connection's future rather than in a box allocated and copied per poll.
        if !answer(&mut io, &state, head, remote).await {
            Box::pin(head::close_gently(&mut io)).await;
            return None;
        }
    }
}

/// What [`next_poll`] found.
enum Peeked {
    /// A plain long-poll's complete head, now consumed from the socket.
    Head(Head),
    /// Anything else, still unread: for actix.
    Actix,
    /// The client closed, stayed idle for [`KEEP_ALIVE`], or the server stops.
    Gone,
}

/// Reads the connection's next request head if it is a plain long-poll, without
/// ever reading past it: the head is peeked until it is complete and consumed only
/// when it is taken, so whatever follows (a pipelined request) stays in the socket,
/// and a request for actix reaches it untouched. One peek and one read per request
/// in the usual case; the buffer lives only during the call.
async fn next_poll(io: &mut TcpStream, stop: &CancellationToken) -> Peeked {
    let mut buf = vec![0u8; 1024];
    let mut n = tokio::select! {
        biased;
        peeked = tokio::time::timeout(KEEP_ALIVE, io.peek(&mut buf)) => match peeked {
            Ok(Ok(n)) if n > 0 => n,
            _ => return Peeked::Gone,
        },
        () = stop.cancelled() => return Peeked::Gone,
    };
    // Once a request has begun, it has actix's request time to arrive whole.
    let deadline = tokio::time::Instant::now() + head::HEAD_TIMEOUT;
    loop {
        let start = &buf[..n];
        let complete = match classify(start) {
            Route::Poll => head::parse_head(start),
            Route::Undecided => Ok(None),
            Route::Stream | Route::Actix => return Peeked::Actix,
        };
        match complete {
            Ok(Some(head)) if head.plain => {
                return match io.read_exact(&mut buf[..head.len]).await {
                    Ok(_) => Peeked::Head(head),
                    Err(_) => Peeked::Gone,
                };
            }
            Ok(None) if n == buf.len() && n < head::MAX_HEAD => buf.resize(n * 2, 0),
            Ok(None) if n == buf.len() => return Peeked::Actix,
            // The socket stays readable with the bytes already there: wait a little
            // for the rest of a head that arrives in pieces.
            Ok(None) if pause_until(deadline).await => {}
            Ok(_) | Err(_) => return Peeked::Actix,
        }
        n = match tokio::time::timeout_at(deadline, io.peek(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Peeked::Gone,
            Ok(Ok(n)) => n,
            Err(_) => return Peeked::Actix,
        };
    }
}

/// Answers one long-poll whose head has been read; true when the connection stays
/// open for another request.
async fn answer(
    io: &mut TcpStream,
    state: &web::Data<AppState>,
    head: Head,
    remote: Option<IpAddr>,
) -> bool {
    let started = Instant::now();
    let span = tracing::info_span!(
        "poll",
        user_id = tracing::field::Empty,
        transport = "long_poll"
    );
    let cors = Cors::head_lines(state.cors.allowed(head.origin.as_deref()));
    let mut close = head.close;
    let push = &state.settings.push;
    let answered = async {
        let (mut feed, opening, timeout) = open(state, head, remote).await?;
        let waited = Waited {
            started,
            metrics: &state.metrics,
        };
        let gone = closed(io);
        let answered =
            protocol::answer(&mut feed, &opening, timeout, push.batch_limit, waited, gone);
        Ok(answered.await?)
    }
    .instrument(span)
    .await;
    close |= state.shutdown.is_cancelled();
    let (out, status) = match answered {
        Ok(body) => (ok_response(&body, &cors, close), StatusCode::OK),
        Err(e) => (head::error_response(&e, &cors, close), e.status_code()),
    };
    let sent = io.write_all(&out).await.is_ok();
    let status = status.as_u16();
    state
        .metrics
        .log_request("GET", PATH, status, started, true);
    sent && !close
}

/// A poll's answer: [`protocol::HEADERS`], the CORS lines, `body`.
fn ok_response(body: &str, cors: &str, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + cors.len() + body.len());
    let headers = &protocol::HEADERS;
    head::response_head(&mut out, StatusCode::OK, body.len(), close, headers, cors);
    out.extend_from_slice(body.as_bytes());
    out
}

/// Authorises the poll and opens its feed, in the actix handler's order: query and
/// token, then `timeout`, then the feed.
async fn open(
    state: &web::Data<AppState>,
    head: Head,
    remote: Option<IpAddr>,
) -> Result<(Feed, Opening, std::time::Duration), ApiError> {
    let request = feed_request(state, head, remote).await?;
    let timeout = protocol::timeout_of(&request.query, &state.settings.push)?;
    let (feed, opening) = Feed::open(&state.feeds, request, Transport::LongPoll).await?;
    Ok((feed, opening, timeout))
}

/// Resolves when the client closes its connection while its poll waits. Never
/// reads: once a pipelined next request is there, that is all that can be learnt
/// without consuming it, and this waits no more.
async fn closed(io: &TcpStream) {
    let mut byte = [0u8; 1];
    match io.peek(&mut byte).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lean_poll_answers_with_the_actix_handlers_headers() {
        let actix = crate::transport::poll::response(String::from("{}"));
        let mut actix: Vec<(String, String)> = actix
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect();
        actix.sort();

        let written = ok_response("{}", "", false);
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut headers);
        let len = match parsed.parse(&written).unwrap() {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("an incomplete head"),
        };
        assert_eq!(parsed.code, Some(200));
        assert_eq!(&written[len..], b"{}");
        // Length and date are actix's encoder's, not the handler's.
        let mut lean: Vec<(String, String)> = parsed
            .headers
            .iter()
            .filter(|h| !["content-length", "date"].contains(&h.name))
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
