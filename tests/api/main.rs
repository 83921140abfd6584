//! The HTTP contract, driven as a client would: one test binary, one module per area.

#![allow(clippy::unwrap_used)] // the whole crate is test code

mod helpers;

mod auth;
mod certs;
mod controls;
mod cors;
mod edge;
mod expiry;
mod faults;
mod jobs;
mod lifecycle;
mod limits;
mod loyalty;
mod mail;
mod metrics;
mod openapi;
mod proxy;
mod push;
pub mod scale;
mod sessions;
mod shop;
mod smtp_sink;
mod stores;
mod support;
mod tls;
mod watches;
