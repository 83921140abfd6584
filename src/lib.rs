//! # pointcast
//!
//! A real-time push server for a shop's loyalty program and record store.
//!
//! # Layout
//! - [`startup`]: builds the app on a bound listener (port 0 in tests) and runs it.
//! - [`settings`]: one settings tree with working defaults; [`cli`] fills it.
//! - [`db`]: the one storage interface over SQLite and PostgreSQL, including the
//!   durable event log and idempotency keys.
//! - [`events`]: the push core, without HTTP: the commit-to-publish hand-over
//!   (`events::publication`), tailer, PostgreSQL listener, hub, feeds.
//! - [`transport`]: SSE and long-poll over HTTP: the shared protocol, the actix
//!   handlers, and the lean path off the socket (`transport::edge`).
//! - [`auth`]: roles, tokens, passwords, extracting the caller.
//! - [`jobs`]: the scheduler and the scheduled jobs.
//! - [`accounts`], [`announcements`], [`stores`], [`mileage`]: domain rules, free of HTTP.
//! - [`shop`]: record shop rules; [`demo`]: `serve --demo` data; [`client`]: the
//!   `pointcast shop` terminal client.
//! - [`support`]: the customer center (conversations, inquiries); [`mail`] sends
//!   its outbox over SMTP.
//! - [`routes`]: HTTP handlers only.
//! - [`error`]: the one API error type and its mapping to HTTP.
//! - [`guard`]: the middleware every actix request passes: CORS and the body
//!   deadline.
//! - [`cors`]: which browser origins may call the API (none by default);
//!   [`ratelimit`]: the token buckets behind every per-user and per-address limit.

pub mod accounts;
pub mod announcements;
pub mod auth;
pub mod cli;
pub mod client;
pub mod cors;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod guard;
pub mod idempotency;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod mileage;
pub mod ratelimit;
pub mod routes;
pub mod settings;
pub mod shop;
pub mod startup;
pub mod state;
pub mod stores;
pub mod support;
pub mod time;
pub mod transport;

pub use settings::Settings;
pub use startup::{Application, Shutdown};
