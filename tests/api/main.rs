//! The HTTP contract, driven as a client would: one test binary, one module per area.

mod helpers;

mod auth;
mod push;
mod smtp_sink;
mod stores;
mod support;
