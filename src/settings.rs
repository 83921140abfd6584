//! One settings tree with defaults that run out of the box.
//!
//! `cli.rs` fills it from flags and `POINTCAST_*` variables; tests build it in code
//! (`Settings::for_tests`) so no test touches process-wide environment variables.

use std::sync::Arc;
use std::time::Duration;

use crate::jobs::clock::{Clock, SystemClock};

pub use crate::auth::throttle::ThrottleSettings;

/// Everything the server needs to start. Cheap to clone; shared read-only.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to bind, `host:port`; port 0 picks a free one (tests).
    pub listen: String,
    /// `sqlite://path` (the embedded default) or `postgres://...`.
    pub database_url: String,
    /// The bootstrap admin's token; generated and printed once when absent.
    pub admin_token: Option<String>,
    /// `smtp://host:port` for inquiry mail; mail is not sent when absent.
    pub smtp_url: Option<String>,
    /// Where inquiries are mailed.
    pub admin_email: Option<String>,
    /// Fill an empty database with demo stores, albums and customers.
    pub demo: bool,
    /// Expose `/api/v1/admin/bench/*`, used by the load generator only.
    pub bench_endpoints: bool,
    /// Actix worker threads; 0 means one per core.
    pub workers: usize,
    /// Database connections: on PostgreSQL the whole pool, on SQLite the readers
    /// (`--database-pool`; see [`crate::db::DEFAULT_POOL`]).
    pub database_pool: u32,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Largest JSON body accepted (413 above).
    pub max_body_bytes: usize,
    /// A request's body must have arrived this long after its head, or the request
    /// is answered 408: a client trickling (or withholding) its body holds no worker
    /// and no database connection. Streams and long-polls send no body.
    pub request_timeout: Duration,
    /// Exact origins (`https://shop.example`) allowed to call the API from a
    /// browser; empty (the default) allows none. See [`crate::cors`].
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` are believed
    /// (`--trusted-proxy`); empty (the default) believes none. See [`crate::net`].
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub push: PushSettings,
    pub login_throttle: ThrottleSettings,
    /// The scheduler's clock; tests put a [`crate::jobs::clock::ManualClock`] here.
    pub clock: Arc<dyn Clock>,
    pub mail: MailSettings,
    pub support: SupportSettings,
    /// IANA time zone new stores start in (`--time-zone`, default `UTC`).
    pub time_zone: String,
    /// Accept JWTs from the shop's identity provider for readers (off when `None`).
    pub jwt: Option<Arc<crate::auth::jwt::JwtVerifier>>,
}

/// Knobs of the push core (DESIGN.md §2). Named durations rather than literals, so
/// tests can shorten them.
#[derive(Clone, Debug)]
pub struct PushSettings {
    /// Interval of SSE comment heartbeats; also how soon a vanished client is noticed.
    pub heartbeat: Duration,
    /// The `retry:` hint sent to EventSource clients.
    pub retry: Duration,
    /// At shutdown each stream is told to come back after `retry` plus a random
    /// share of this window, so that a restarted instance's clients do not all
    /// reconnect in the same instant.
    pub restart_spread: Duration,
    /// Events a subscriber may have queued before it is cut off.
    pub queue_capacity: usize,
    /// Recent events kept in memory so a fresh cursor resumes without the database.
    pub ring_capacity: usize,
    /// Streams and waiting long-polls one signed-in user may hold at once.
    pub max_streams_per_principal: usize,
    /// Streams and waiting long-polls anonymous readers from one client address
    /// may hold at once (`--max-anonymous-streams`): larger than a user's, since
    /// many visitors can share an address.
    pub max_anonymous_per_address: usize,
    /// How long the log keeps events; older cursors get `stream.reset`.
    pub retention: Duration,
    /// How often old events are pruned.
    pub prune_interval: Duration,
    /// Most events one long-poll answer or one backlog page carries.
    pub batch_limit: usize,
    /// Upper bound of a long-poll's `timeout` parameter.
    pub max_poll_timeout: Duration,
    /// A connection whose sent data stays unacknowledged this long (a reader that
    /// stopped reading, or a vanished peer) is aborted by the kernel.
    pub stalled_timeout: Duration,
    /// Safety net: the tailer re-reads the log this often even without a wake-up.
    pub tail_interval: Duration,
    /// Connections that may be reading a request head at once; more wait for a
    /// turn (within the head timeout), reading nothing.
    pub max_unfinished_heads: usize,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            retry: Duration::from_secs(3),
            restart_spread: Duration::from_secs(10),
            queue_capacity: 1024,
            ring_capacity: 4096,
            max_streams_per_principal: 16,
            max_anonymous_per_address: 64,
            retention: Duration::from_secs(7 * 24 * 3600),
            prune_interval: Duration::from_secs(600),
            batch_limit: 500,
            max_poll_timeout: Duration::from_secs(55),
            tail_interval: Duration::from_secs(1),
            stalled_timeout: Duration::from_secs(30),
            max_unfinished_heads: 4096,
        }
    }
}

/// The inquiry mail outbox (`src/mail.rs`). Named durations so tests can shorten them.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// The `From:` of inquiry mail.
    pub from: String,
    /// Wait before the first retry of a failed mail; doubled after each failure.
    pub retry_initial: Duration,
    /// Longest wait between two attempts, however many failed.
    pub retry_max: Duration,
    /// Safety net: the worker looks at the outbox this often even without a wake-up.
    pub poll_interval: Duration,
    /// One SMTP conversation may take this long before it counts as failed.
    pub send_timeout: Duration,
    /// Extra CAs (PEM) trusted for the SMTP server's certificate, besides the
    /// Mozilla roots: for a private mail relay (and the tests' own CA).
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "pointcast <pointcast@localhost>".into(),
            retry_initial: Duration::from_secs(5),
            retry_max: Duration::from_secs(15 * 60),
            poll_interval: Duration::from_secs(30),
            send_timeout: Duration::from_secs(20),
            ca_file: None,
        }
    }
}

/// Limits of the customer center (`src/support/`).
#[derive(Clone, Debug)]
pub struct SupportSettings {
    /// Messages one user may send in a burst...
    pub rate_burst: u32,
    /// ...refilled evenly over this window (10 per 10 s by default).
    pub rate_window: Duration,
    /// Inquiries one address may send in a burst (the form is open to anyone)...
    pub inquiry_burst: u32,
    /// ...refilled evenly over this window (5 per 10 min by default).
    pub inquiry_window: Duration,
}

impl Default for SupportSettings {
    fn default() -> Self {
        Self {
            rate_burst: 10,
            rate_window: Duration::from_secs(10),
            inquiry_burst: 5,
            inquiry_window: Duration::from_secs(600),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://pointcast.db".into(),
            admin_token: None,
            smtp_url: None,
            admin_email: None,
            demo: false,
            bench_endpoints: false,
            workers: 0,
            database_pool: crate::db::DEFAULT_POOL,
            shutdown_timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            push: PushSettings::default(),
            login_throttle: ThrottleSettings::default(),
            clock: Arc::new(SystemClock),
            mail: MailSettings::default(),
            support: SupportSettings::default(),
            time_zone: "UTC".into(),
            jwt: None,
        }
    }
}

impl Settings {
    /// Settings for an instance started by a test: port 0, the given database, a known
    /// admin token, two workers.
    pub fn for_tests(database_url: impl Into<String>, admin_token: impl Into<String>) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.into(),
            admin_token: Some(admin_token.into()),
            workers: 2,
            shutdown_timeout: Duration::from_secs(2),
            ..Self::default()
        }
    }
}
