//! The lean path: streams and long-polls served straight off the socket.
//!
//! Why it exists: actix-http gives every connection an 8 KB read and an 8 KB write
//! buffer for its whole life, and frames each event again for each reader; for a
//! push server whose connections are mostly idle streams and waiting polls that is
//! most of its memory. So the server peeks at the first bytes of each new
//! connection ([`peek_route`], never consuming them): a connection that opens with
//! `GET /api/v1/events` or `GET /api/v1/events/poll` (followed by ` ` or `?`) is
//! served here, everything else goes to actix unchanged (`crate::startup` wires
//! this in front of actix's HTTP/1 service).
//!
//! - this file: connection routing, and [`feed_request`], the one way both loops
//!   turn a request head into a [`FeedRequest`];
//! - [`head`]: the small HTTP/1 toolkit (request heads, response heads, errors);
//! - [`sse`]: the SSE loop; [`poll`]: the long-poll loop, with keep-alive.
//!
//! Both loops authorise and open feeds exactly as the actix handlers do
//! ([`crate::auth::extract`], [`crate::events::feed::Feed::open`]), write what
//! [`crate::transport::protocol`] says, answer errors with the usual JSON, echo an
//! `Origin` the CORS setting lists as actix's middleware ([`crate::guard`]) does,
//! and log each request with [`crate::metrics::Metrics::log_request`]. While idle or
//! waiting, a connection holds its socket, its feed and a timer: no buffer.

pub mod head;
pub mod poll;
pub mod sse;

use std::net::IpAddr;
use std::time::Duration;

use actix_web::web;
use tokio::net::TcpStream;

use self::head::Head;
use crate::auth::extract::{session_cookie, token_from_parts};
use crate::auth::stream::stream_caller;
use crate::error::ApiError;
use crate::events::feed::FeedRequest;
use crate::events::params::StreamQuery;
use crate::state::AppState;
/// What a connection must start with to be served here.
const PREFIX: &[u8] = b"GET /api/v1/events";
/// What follows [`PREFIX`] in a long-poll.
const POLL_SUFFIX: &[u8] = b"/poll";
/// How long a new connection (or the next request on a kept-alive lean long-poll
/// connection) may take to show its first bytes before it is handed to actix
/// undecided (actix's own request timeout then applies).
pub const ROUTE_WAIT: Duration = Duration::from_secs(2);
/// How much of a connection's start is peeked at: the prefix and the byte after it.
const PEEK_BYTES: usize = 32;

/// Where the first bytes of a connection send it.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/v1/events`: the lean SSE loop ([`sse::serve`]).
    Stream,
    /// `GET /api/v1/events/poll`: the lean long-poll loop ([`poll::serve`]).
    Poll,
    /// Anything else: actix's.
    Actix,
    /// Too few bytes yet to tell.
    Undecided,
}

/// Routes on the first bytes: `GET /api/v1/events` or `GET /api/v1/events/poll`,
/// then ` ` or `?`, is ours; everything else is actix's.
pub fn classify(start: &[u8]) -> Route {
    let Some(rest) = start.strip_prefix(PREFIX) else {
        return if PREFIX.starts_with(start) {
            Route::Undecided
        } else {
            Route::Actix
        };
    };
    let ends = |b: &[u8]| matches!(b.first(), Some(b' ' | b'?'));
    if ends(rest) {
        Route::Stream
    } else if let Some(after) = rest.strip_prefix(POLL_SUFFIX) {
        if ends(after) {
            Route::Poll
        } else if after.is_empty() {
            Route::Undecided
        } else {
            Route::Actix
        }
    } else if rest.is_empty() || POLL_SUFFIX.starts_with(rest) {
        Route::Undecided
    } else {
        Route::Actix
    }
}

/// Peeks (without consuming) at the start of a request, waiting at most `wait` for
/// enough bytes to decide; never [`Route::Undecided`]. Anything undecided goes to
/// actix, which then applies its own request timeout; a connection closed before
/// its first byte is `None`.
pub async fn peek_route(io: &TcpStream, wait: Duration) -> Option<Route> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; PEEK_BYTES];
    loop {
        let n = match tokio::time::timeout_at(deadline, io.peek(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => n,
            Err(_) => return Some(Route::Actix),
        };
        match classify(&buf[..n]) {
            Route::Undecided => {}
            route => return Some(route),
        }
        // The socket stays readable with the bytes already there: wait a little
        // for the rest of a request that arrives in pieces.
        if !pause_until(deadline).await {
            return Some(Route::Actix);
        }
    }
}

/// Sleeps a little (a peeked socket stays readable, so there is nothing to wait
/// on); false once `deadline` has passed.
pub async fn pause_until(deadline: tokio::time::Instant) -> bool {
    tokio::time::timeout_at(deadline, tokio::time::sleep(Duration::from_millis(5)))
        .await
        .is_ok()
}

/// What the reader asked for, and who it is: the query string, the token (header,
/// cookie or `?access_token=`, by the one rule of [`token_from_parts`]) and the
/// principal it names (a bad token is a 401), as the actix extractors take them,
/// in their order. Records `user_id` in the current span.
pub async fn feed_request(
    state: &AppState,
    head: Head,
    remote: Option<IpAddr>,
) -> Result<FeedRequest, ApiError> {
    let query = web::Query::<StreamQuery>::from_query(&head.query)
        .map_err(|e| ApiError::bad_request("bad_query", e.to_string()))?
        .into_inner();
    let token = token_from_parts(
        head.authorization.as_deref(),
        head.cookie.as_deref().and_then(session_cookie),
        Some(&head.query),
    );
    let caller = stream_caller(state, token).await?;
    if let Some(c) = &caller {
        tracing::Span::current().record("user_id", c.principal.user_id);
    }
    let (principal, session) = caller.map_or((None, None), |c| (Some(c.principal), c.session));
    let remote = crate::net::client_addr(
        &state.settings.trusted_proxies,
        remote,
        head.forwarded.as_deref(),
        head.x_forwarded_for.as_deref(),
    );
    Ok(FeedRequest {
        cursor_header: head.last_event_id,
        remote,
        principal,
        session,
        query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stream_and_poll_routes_are_ours() {
        assert_eq!(classify(b"GET /api/v1/events HTTP/1.1\r\n"), Route::Stream);
        assert_eq!(
            classify(b"GET /api/v1/events?topics=x HTTP/1.1"),
            Route::Stream
        );
        assert_eq!(classify(b"GET /api/v1/events/poll?x HTTP/1.1"), Route::Poll);
        assert_eq!(classify(b"GET /api/v1/events/poll HTTP/1.1"), Route::Poll);
        assert_eq!(classify(b"GET /api/v1/events/polls HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /api/v1/events/p HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /api/v1/eventsx HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"POST /api/v1/events HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /healthz HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /api/v1/ev"), Route::Undecided);
        assert_eq!(classify(b"GET /api/v1/events"), Route::Undecided);
        assert_eq!(classify(b"GET /api/v1/events/po"), Route::Undecided);
        assert_eq!(classify(b"GET /api/v1/events/poll"), Route::Undecided);
        assert_eq!(classify(b""), Route::Undecided);
    }

    fn future_size<A, B, F: Future>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn an_idle_stream_is_small() {
        // The whole state of one stream connection while it waits (the future that
        // actix-server's worker keeps), without any buffer.
        let serve = future_size(sse::serve);
        eprintln!("edge::sse::serve future: {serve} bytes");
        assert!(serve < 1024, "edge::sse::serve future is {serve} bytes");
    }

    #[test]
    fn a_waiting_poll_connection_is_small() {
        // The whole state of a long-poll connection, its waiting poll included
        // (about 2 KB in a release build): no buffer, and far below actix's 16 KB.
        let serve = future_size(poll::serve);
        eprintln!("edge::poll::serve future: {serve} bytes");
        assert!(serve < 4096, "edge::poll::serve future is {serve} bytes");
    }
}
