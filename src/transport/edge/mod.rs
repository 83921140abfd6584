//! The lean path: streams and long-polls served straight off the socket.
//!
//! Why it exists: actix-http gives every connection an 8 KB read and an 8 KB write
//! buffer for its whole life, and frames each event again for each reader; for a
//! push server whose connections are mostly idle streams and waiting polls that is
//! most of its memory. So every connection is served by [`conn::serve`], which
//! reads each request head itself: a plain `GET /api/v1/events` or
//! `GET /api/v1/events/poll` (HTTP/1.1, no body, as actix's own decoder reads it:
//! [`head::decide`]) is served here, everything else by actix, which gives the
//! connection back when its next request is ours ([`wire`]).
//!
//! - [`conn`]: one connection's life; [`beat`]: the worker's heartbeat clock; [`read`]: reading a head (readiness, deadline,
//!   the unfinished-heads bound); [`wire`]: the socket as actix sees it;
//! - [`head`]: deciding a head, writing response heads and errors;
//! - [`sse`]: the SSE loop; [`poll`]: one long-poll.
//!
//! Both loops authorise and open feeds exactly as the actix handlers do
//! ([`crate::transport::request::feed_request`],
//! [`crate::events::feed::Feed::open`]), write what [`crate::transport::protocol`]
//! says, answer errors with the usual JSON, echo an `Origin` the CORS setting lists
//! as actix's middleware ([`crate::guard`]) does, and log each request with
//! [`crate::metrics::Metrics::log_request`]. While idle or waiting, a connection
//! holds its socket and its feed, and a poll its timeout's timer, a stream a slot
//! on its worker's heartbeat clock ([`beat`]): no buffer.

pub mod beat;
pub mod conn;
pub mod head;
pub mod poll;
pub mod read;
pub mod sse;
pub mod wire;

/// The stream's path.
const STREAM: &[u8] = b"/api/v1/events";
/// What follows [`STREAM`] in a long-poll's path.
const POLL_SUFFIX: &[u8] = b"/poll";

/// Which route a request's target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/api/v1/events`: the lean SSE loop ([`sse::run`]).
    Stream,
    /// `/api/v1/events/poll`: the lean long-poll ([`poll::answer`]).
    Poll,
    /// Anything else: actix's.
    Actix,
}

/// The route of a request target (`/api/v1/events?topics=x`): the path exactly,
/// then the end or `?`.
pub fn route_of(target: &[u8]) -> Route {
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    match path.strip_prefix(STREAM) {
        Some(b"") => Route::Stream,
        Some(POLL_SUFFIX) => Route::Poll,
        _ => Route::Actix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stream_and_poll_routes_are_ours() {
        assert_eq!(route_of(b"/api/v1/events"), Route::Stream);
        assert_eq!(route_of(b"/api/v1/events?topics=x"), Route::Stream);
        assert_eq!(route_of(b"/api/v1/events/poll?x"), Route::Poll);
        assert_eq!(route_of(b"/api/v1/events/poll"), Route::Poll);
        assert_eq!(route_of(b"/api/v1/events/polls"), Route::Actix);
        assert_eq!(route_of(b"/api/v1/events/"), Route::Actix);
        assert_eq!(route_of(b"/api/v1/eventsx"), Route::Actix);
        assert_eq!(route_of(b"/healthz"), Route::Actix);
    }

    #[test]
    fn an_idle_stream_is_small() {
        // The whole state of one stream connection while it waits: the
        // connection's future (the one box actix-server's task keeps) holds the
        // stream's; reading heads, opening and writing are boxed while they run.
        let stream = std::mem::size_of::<sse::Stream>();
        eprintln!("edge::sse::Stream: {stream} bytes");
        let conn = conn_future_size(conn::serve);
        eprintln!("edge::conn::serve future: {conn} bytes");
        assert!(
            conn < stream + 256,
            "edge::conn::serve future is {conn} bytes"
        );
        assert!(conn < 512, "edge::conn::serve future is {conn} bytes");
    }

    fn conn_future_size<A, B, F: Future>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }
}
