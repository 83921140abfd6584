//! The transports: how feeds reach clients over HTTP (DESIGN.md §2, Transports).
//! The push core ([`crate::events`]) knows no HTTP; this is where it meets it.
//!
//! - [`protocol`]: what both paths write, with no actix in it: the SSE headers,
//!   preamble, batching and heartbeat rule; the long-poll's headers and answer.
//! - [`sse`], [`poll`]: the actix handlers, for the requests actix receives (a
//!   stream or poll after other requests on a keep-alive connection, HTTP/1.0, a
//!   request with a body).
//! - [`edge`]: the lean path: connections that open with a stream or a poll, served
//!   off the socket (why it exists is there).
//! - [`socket`]: the options every accepted connection gets, whichever path serves
//!   it.
//!
//! A feed's errors become HTTP answers in [`crate::error`], like every area's.

pub mod edge;
pub mod poll;
pub mod protocol;
pub mod socket;
pub mod sse;

use actix_web::HttpRequest;

use crate::auth::stream::Caller;
use crate::events::feed::FeedRequest;
use crate::events::params::StreamQuery;

/// What an actix request asks of a feed (the lean path reads the same from its
/// request head, see [`edge::feed_request`]).
pub fn feed_request(req: &HttpRequest, caller: Option<Caller>, query: StreamQuery) -> FeedRequest {
    let (principal, session) = match caller {
        Some(c) => (Some(c.principal), c.session),
        None => (None, None),
    };
    FeedRequest {
        cursor_header: req
            .headers()
            .get("last-event-id")
            .map(|v| v.to_str().unwrap_or("?").to_string()),
        remote: crate::net::client_ip(req),
        principal,
        session,
        query,
    }
}
