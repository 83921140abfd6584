//! What both transports write, with no actix in it: the lean path
//! ([`crate::transport::edge`]) and the actix handlers ([`crate::transport::sse`],
//! [`crate::transport::poll`]) take every header, byte and rule from here, so the
//! two cannot drift apart.
//!
//! - [`sse`]: the stream's headers, its preamble, batching ready events into one
//!   write, and the one heartbeat rule. Each event's block itself is built once by
//!   the push core ([`crate::events::Event::frame`]) and shared by every stream.
//! - [`poll`]: the long-poll's headers, its `timeout`, and its answer.

pub mod poll;
pub mod sse;
