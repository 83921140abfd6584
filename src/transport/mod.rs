//! The transports: how feeds reach clients over HTTP (DESIGN.md §2, Transports).
//! The push core ([`crate::events`]) knows no HTTP; this is where it meets it.
//!
//! - [`protocol`]: what both paths write, with no actix in it: the SSE headers,
//!   preamble, batching and heartbeat rule; the long-poll's headers and answer.
//! - [`request`]: the one way both paths read a stream or poll request (body
//!   refusal, query, credential, principal, client address).
//! - [`sse`], [`poll`]: the actix handlers, for the stream and poll requests actix
//!   keeps (HTTP/1.0 polls, `Expect`/`Upgrade`, very large heads, bodies: refused).
//! - [`edge`]: the lean path: connections that open with a stream or a poll, served
//!   off the socket (why it exists is there).
//! - [`socket`]: the options every accepted connection gets, whichever path serves
//!   it.
//!
//! A feed's errors become HTTP answers in [`crate::error`], like every area's.

pub mod edge;
pub mod poll;
pub mod protocol;
pub mod request;
pub mod socket;
pub mod sse;
