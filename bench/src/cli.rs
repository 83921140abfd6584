//! Command-line interface: one subcommand per scenario, shared options flattened in.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Load generator for pointcast (and nchan, for side-by-side runs).
///
/// Opens real HTTP connections over loopback only, paces connection set-up,
/// bounds every loop in count and time, and prints one `RESULT {json}` line.
#[derive(Debug, Parser)]
#[command(name = "pointcast-bench", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hold N subscribed connections; report the server's memory per connection.
    Idle {
        /// Number of subscriber connections.
        n: usize,
        /// Seconds to hold all connections before measuring again.
        #[arg(long, default_value_t = 5)]
        hold_secs: u64,
        #[command(flatten)]
        common: Common,
    },
    /// N subscribers of one public topic; P publishes; per-delivery latency.
    Fanout {
        /// Number of subscribers.
        n: usize,
        /// Number of publishes.
        #[arg(long, default_value_t = 10)]
        publishes: u64,
        /// Milliseconds between publishes.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        #[command(flatten)]
        common: Common,
    },
    /// N users each on their own stream; events to random users at a fixed rate.
    Unicast {
        /// Number of users (one stream each).
        n: usize,
        /// Events per second.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Seconds to publish for.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// How pointcast is made to emit a user event.
        #[arg(long, value_enum, default_value_t = PublishMode::Announce)]
        publish: PublishMode,
        /// Publisher connections working in parallel.
        #[arg(long, default_value_t = 8)]
        publishers: usize,
        /// Store to grant mileage from (`--publish grant`); created if absent.
        #[arg(long)]
        store_id: Option<u64>,
        #[command(flatten)]
        common: Common,
    },
    /// Small end-to-end check (a few seconds): exits non-zero if any delivery is lost.
    Smoke {
        #[command(flatten)]
        common: Common,
    },
    /// Reads files of RESULT lines and prints a side-by-side markdown table.
    Table {
        /// Files holding `RESULT {...}` lines (other lines are ignored).
        files: Vec<PathBuf>,
    },
}

/// Options every load scenario takes.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Which server is under test (they differ in URL shapes).
    #[arg(long, value_enum, default_value_t = TargetKind::Pointcast)]
    pub target: TargetKind,
    /// Base URL of the server; loopback only.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// How subscribers receive events.
    #[arg(long, value_enum, default_value_t = Transport::Sse)]
    pub transport: Transport,
    /// Server process id(s) to read memory and CPU from (repeatable: summed).
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// pointcast admin token (Bearer) for publishing and bench set-up.
    #[arg(long, env = "POINTCAST_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// New connections per second while setting up subscribers.
    #[arg(long, default_value_t = 2000)]
    pub connect_rate: u64,
    /// Number of 127.0.0.x source addresses to spread clients over (0 = one per 20k).
    #[arg(long, default_value_t = 0)]
    pub source_ips: u8,
    /// Long-poll timeout asked of the server, seconds.
    #[arg(long, default_value_t = 25)]
    pub poll_timeout: u64,
    /// Open each stream (or first poll) as the second request on its connection,
    /// after a `GET /healthz`: what a browser that loaded a page, or nginx's
    /// upstream keep-alive pool, sends.
    #[arg(long)]
    pub after_request: bool,
    /// Seconds to wait for deliveries after the last publish.
    #[arg(long, default_value_t = 10)]
    pub grace_secs: u64,
    /// Hard bound on the whole run, seconds; the tool stops by itself then.
    #[arg(long, default_value_t = 600)]
    pub max_secs: u64,
    /// Free-form label copied into the result (e.g. "pointcast@abc123").
    #[arg(long)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Pointcast,
    Nchan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Sse,
    Poll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishMode {
    /// `POST /api/v1/announcements {"text", "user_id"}`.
    Announce,
    /// `POST /api/v1/stores/{store}/members/{user}/mileage` with `Idempotency-Key`.
    Grant,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::Poll => "poll",
        }
    }
}
