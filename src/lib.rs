//! # pointcast
//!
//! A real-time push server for a shop's loyalty program and record store.
//!
//! # Layout
//! - [`startup`]: builds the app on a bound listener (port 0 in tests) and runs it.
//! - [`settings`]: one settings tree with working defaults; [`cli`] fills it.
//! - [`store`]: the one storage interface over SQLite and PostgreSQL, including the
//!   durable event log and idempotency keys.
//! - [`events`]: the push core: hub, tailer, feeds, SSE and long-poll.
//! - [`auth`]: roles, tokens, passwords, extracting the caller.
//! - [`jobs`]: the scheduler and the scheduled jobs.
//! - [`accounts`], [`announcements`], [`stores`]: domain rules, free of HTTP.
//! - [`routes`]: HTTP handlers only.
//! - [`error`]: the one API error type and its mapping to HTTP.

pub mod accounts;
pub mod announcements;
pub mod auth;
pub mod cli;
pub mod error;
pub mod events;
pub mod jobs;
pub mod metrics;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod stores;

pub use settings::Settings;
pub use startup::{Application, Shutdown};
