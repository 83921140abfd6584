//! The lean long-poll: a plain `GET /api/v1/events/poll` answered off the socket.
//!
//! Each poll is authorised, opened and answered as the actix handler does it
//! ([`feed_request`], [`Feed::open`], [`protocol::answer`]), with the same headers
//! ([`protocol::HEADERS`] and CORS; actix's order varies, the lines are the same),
//! error bodies, request log and metrics. `Connection: close` is honoured, and at
//! shutdown the answer closes the connection. A client that closes while its poll
//! waits ends the wait at once and its reader is unregistered. The connection's
//! next request, whatever it is, is read by [`super::conn`].

use std::net::SocketAddr;
use std::task::Poll;
use std::time::Instant;

use actix_http::{ConnectionType, Request};
use actix_web::HttpMessage;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::web;
use tokio::io::{AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tracing::Instrument;

use super::head;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::{Feed, Opening};
use crate::state::AppState;
use crate::transport::protocol::poll::{self as protocol, Waited};
use crate::transport::request::feed_request;

/// How long a connection may stay idle between requests: actix's default
/// keep-alive, which `startup.rs` gives the actix side too.
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(5);
/// The route's path, for the request log.
const PATH: &str = "/api/v1/events/poll";

/// Answers one long-poll whose head has been read; true when the connection stays
/// open for another request.
pub async fn answer(
    io: &mut TcpStream,
    state: &web::Data<AppState>,
    request: Box<Request>,
    peer: Option<SocketAddr>,
) -> bool {
    let started = Instant::now();
    let span = tracing::info_span!(
        "poll",
        user_id = tracing::field::Empty,
        transport = "long_poll"
    );
    let origin = request.headers().get("origin").map(|v| v.as_bytes());
    let cors = Cors::head_lines(state.cors.allowed(origin));
    let mut close = request.head().connection_type() == ConnectionType::Close;
    let push = &state.settings.push;
    let answered = async {
        // Boxed: opening (parsing, authorising, registering) takes more state than
        // the wait that follows, and the wait is what a poll holds for long.
        let (mut feed, opening, timeout) = Box::pin(open(state, request, peer)).await?;
        let waited = Waited {
            started,
            metrics: &state.metrics,
        };
        let gone = closed(io);
        let answered =
            protocol::answer(&mut feed, &opening, timeout, push.batch_limit, waited, gone);
        Ok::<_, ApiError>(answered.await?)
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

/// Authorises the poll and opens its feed, in the actix handler's order: the
/// request ([`feed_request`]), then `timeout`, then the feed.
async fn open(
    state: &web::Data<AppState>,
    request: Box<Request>,
    peer: Option<SocketAddr>,
) -> Result<(Feed, Opening, std::time::Duration), ApiError> {
    let query = request.uri().query().unwrap_or("");
    let request = feed_request(state, request.headers(), query, peer).await?;
    let timeout = protocol::timeout_of(&request.query, &state.settings.push)?;
    let (feed, opening) = Feed::open(&state.feeds, request, Transport::LongPoll).await?;
    Ok((feed, opening, timeout))
}

/// Resolves when the client closes its connection while its poll waits. Never
/// reads: once a pipelined next request is there, that is all that can be learnt
/// without consuming it, and this waits no more.
///
/// A poll function over `poll_peek`, not `peek().await`: tokio's `peek` future is
/// 264 bytes, and a waiting poll holds this for its whole wait (three times over,
/// as the argument, the local and the `select!`'s operand). This one holds the
/// socket's reference and whether a request came.
fn closed(io: &TcpStream) -> impl Future<Output = ()> + '_ {
    let mut pipelined = false;
    std::future::poll_fn(move |cx| {
        if pipelined {
            return Poll::Pending;
        }
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        match io.poll_peek(cx, &mut buf) {
            Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(()),
            Poll::Ready(Ok(_)) => {
                pipelined = true;
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_stays_in_the_allocators_small_bins() {
        // A poll boxes its answer's future, which is what a waiting poll holds,
        // and the answer boxes its opening. glibc serves up to 1,008 bytes from its
        // per-thread cache and small bins; a larger request first consolidates
        // the fast bins (`malloc_consolidate`, 2-4 % of a long-poll fan-out's time
        // when the answer's future was 3 KB; docs/performance.md, seventh part).
        let answer = answer_size(answer);
        let open = open_size(open);
        eprintln!("edge::poll::answer future: {answer} bytes, open: {open} bytes");
        assert!(
            answer <= 1008,
            "edge::poll::answer future is {answer} bytes"
        );
        assert!(open <= 1008, "edge::poll::open future is {open} bytes");
    }

    fn answer_size<A, B, C, D, F: Future>(_: fn(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    fn open_size<A, B, C, F: Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

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
