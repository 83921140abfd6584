//! The HTTP contract, driven as a client would: one test binary, one module per area.

#![allow(clippy::unwrap_used)] // the whole crate is test code

mod helpers;

mod auth;
mod jobs;
mod loyalty;
mod metrics;
mod push;
mod scale;
mod shop;
mod smtp_sink;
mod stores;
mod support;
