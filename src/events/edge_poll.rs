//! The lean long-poll path: `GET /api/v1/events/poll` served straight off the
//! socket, with keep-alive.
//!
//! A connection whose first request is a long-poll ([`super::edge::peek_route`]) is
//! served here, request after request, as long as each is again a plain long-poll
//! (HTTP/1.1, no body: [`super::edge::Head::plain`]). Heads are peeked and consumed
//! only once taken ([`super::edge::peek_head`]), never read past: the first request
//! that is anything else (another route, HTTP/1.0, a body, a head too large or
//! malformed), pipelined or not, is still whole in the socket when the connection is
//! handed back to actix ([`serve`] returns it), which serves it and the rest.
//!
//! Each poll is authorised, opened and answered as the actix handler does it
//! ([`super::edge::feed_request`], [`Feed::open`], [`poll::answer`]), with the same
//! headers (content type, cache control, CORS; actix's order varies, the lines are
//! the same), error bodies, request log and metrics. `Connection: close` is
//! honoured; an idle connection is closed after [`KEEP_ALIVE`], as actix does, and
//! at shutdown. A client that closes while its poll waits ends the wait at once and
//! its reader is unregistered. Between polls, and while one waits, a connection holds
//! no buffer: heads are parsed from a buffer that lives only while they are read.

use std::time::Instant;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::web;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::Instrument;

use super::connections::Transport;
use super::edge::{self, Head, Peeked, Route};
use super::feed::{Feed, Opening};
use super::poll::{self, Waited};
use crate::cors::Cors;
use crate::error::ApiError;
use crate::state::AppState;

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
    loop {
        let head = match edge::peek_head(&mut io).await {
            Peeked::Head(head) => head,
            Peeked::Actix => return Some(io),
            Peeked::Gone => return None,
        };
        // Boxed: a poll's state (its feed, the opening's database reads) lives only
        // while it is answered; between polls the connection holds little more
        // than its socket.
        if !Box::pin(answer(&mut io, &state, head)).await {
            Box::pin(edge::close_gently(&mut io)).await;
            return None;
        }
        match next_request(&io, &state).await {
            Some(Route::Poll) => continue,
            Some(_) => return Some(io),
            None => return None,
        }
    }
}

/// Waits for the connection's next request and routes it by its first bytes;
/// `None` when the client closes, stays idle for [`KEEP_ALIVE`], or the server
/// shuts down.
async fn next_request(io: &TcpStream, state: &AppState) -> Option<Route> {
    // A peek, not `readable()`: the socket's readiness outlives the request just
    // read, and only an attempt that finds nothing clears it.
    let mut first = [0u8; 1];
    let arrived = tokio::select! {
        peeked = io.peek(&mut first) => matches!(peeked, Ok(n) if n > 0),
        () = tokio::time::sleep(KEEP_ALIVE) => false,
        () = state.shutdown.cancelled() => false,
    };
    if !arrived {
        return None;
    }
    edge::peek_route(io, edge::ROUTE_WAIT).await
}

/// Answers one long-poll whose head has been read; true when the connection stays
/// open for another request.
async fn answer(io: &mut TcpStream, state: &web::Data<AppState>, head: Head) -> bool {
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
        // Boxed: authorising and opening are large futures, and a waiting poll should
        // not carry their space.
        let (mut feed, opening, timeout) = Box::pin(open(state, head, io)).await?;
        let waited = Waited {
            started,
            metrics: &state.metrics,
        };
        let gone = closed(io);
        poll::answer(&mut feed, &opening, timeout, push.batch_limit, waited, gone).await
    }
    .instrument(span)
    .await;
    close |= state.shutdown.is_cancelled();
    let (out, status) = match answered {
        Ok(body) => {
            let mut out = Vec::with_capacity(256 + cors.len() + body.len());
            let content_type = format!("content-type: {}\r\n", poll::CONTENT_TYPE);
            let cache = format!("cache-control: {}\r\n", poll::CACHE_CONTROL);
            edge::response_head(
                &mut out,
                StatusCode::OK,
                body.len(),
                close,
                &[&content_type, &cache, &cors],
            );
            out.extend_from_slice(body.as_bytes());
            (out, StatusCode::OK)
        }
        Err(e) => (edge::error_response(&e, &cors, close), e.status_code()),
    };
    let sent = io.write_all(&out).await.is_ok();
    edge::log_request(state, PATH, status.as_u16(), started);
    sent && !close
}

/// Authorises the poll and opens its feed, in the actix handler's order: query and
/// token, then `timeout`, then the feed.
async fn open(
    state: &web::Data<AppState>,
    head: Head,
    io: &TcpStream,
) -> Result<(Feed, Opening, std::time::Duration), ApiError> {
    let request = edge::feed_request(state, head, io).await?;
    let timeout = poll::timeout_of(&request.query, &state.settings.push)?;
    let (feed, opening) = Feed::open(state.clone(), request, Transport::LongPoll).await?;
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
