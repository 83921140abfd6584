//! The HTTP contract, driven as a client would: one test binary, one module per area.

#![allow(clippy::unwrap_used)] // the whole crate is test code

mod helpers;

mod asyncapi;
mod auth;
mod certs;
mod client;
mod console;
mod controls;
mod cors;
mod edge;
mod edge_strict;
mod error_codes;
mod expiry;
mod faults;
mod group_commit;
mod jobs;
mod jwt;
mod keys;
pub mod lifecycle;
mod limits;
mod loyalty;
mod mail;
mod metrics;
mod openapi;
mod oplog;
mod pool;
mod proxy;
mod publish;
mod push;
mod readme;
pub mod scale;
mod sessions;
mod shop;
mod smtp_sink;
mod stores;
mod support;
mod tls;
mod watches;
