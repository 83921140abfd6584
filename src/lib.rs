//! # pointcast
//!
//! A real-time push server for a shop's loyalty program and record store.
//!
//! # Layout
//! Layers point one way (docs/architecture.md): [`routes`] and [`transport`] (HTTP)
//! → domain flows → [`db`] (storage); the push core ([`events`]) knows neither the
//! domain nor HTTP.
//!
//! - [`startup`]: builds the app on a bound listener (port 0 in tests) and runs it.
//! - [`settings`]: one settings tree with working defaults; [`cli`] fills it.
//! - Domain flows, free of HTTP, each with its rules, errors and typed events
//!   (`events.rs`): [`mileage`] (grants, conversion, coupons, memberships),
//!   [`shop`] (catalog, stock, orders, sales), [`stores`], [`accounts`],
//!   [`support`] (conversations, inquiries), [`announcements`], [`publish`]
//!   (integrators' `app.` events), [`jobs`] (the
//!   scheduler and the job bodies). [`idempotency`] runs a flow once per key.
//! - [`db`]: storage over SQLite and PostgreSQL: rows, queries and the invariants
//!   every caller needs (a ledger posting moves its balance; stock is taken by one
//!   conditional update), the durable event log, group commit.
//! - [`events`]: the push core: the commit-to-publish hand-over
//!   (`events::publication`), tailer, PostgreSQL listener, hub, feeds.
//! - [`transport`]: SSE and long-poll over HTTP: the shared protocol, the actix
//!   handlers, and the lean path off the socket (`transport::edge`).
//! - [`routes`]: HTTP handlers only: parse, authorise, call a flow, answer.
//! - [`error`]: the one API error type, and every area's errors mapped to HTTP.
//! - [`auth`]: roles, tokens, passwords, extracting the caller.
//! - [`guard`]: the middleware every actix request passes: CORS and the body
//!   deadline; [`cors`]: which browser origins may call the API (none by
//!   default); [`ratelimit`]: the token buckets behind every limit.
//! - [`oplog`]: names for the operator's log of business actions.
//! - [`time`]: how timestamps are stored and shown; [`metrics`]: `/metrics` and
//!   the request log; [`mail`]: sends the outbox over SMTP; [`net`]: the client's
//!   address behind trusted proxies.
//! - [`demo`]: `serve --demo` data; [`client`]: the `pointcast shop` terminal
//!   client.

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
pub mod net;
pub mod oplog;
pub mod publish;
pub mod ratelimit;
pub mod routes;
pub mod sched;
pub mod settings;
pub mod shop;
pub mod startup;
pub mod state;
pub mod stores;
pub mod support;
pub mod time;
pub mod tls;
pub mod transport;
pub mod trim;

pub use settings::Settings;
pub use startup::{Application, Shutdown};
