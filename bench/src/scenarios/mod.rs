//! The load scenarios. Each returns an [`Outcome`]: one JSON object for the
//! `RESULT` line and a few human lines.

pub mod fanout;
pub mod idle;
pub mod smoke;
pub mod unicast;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::cli::{Common, PublishMode};
use crate::error::Result;
use crate::http::Endpoint;
use crate::procfs;
use crate::stamp;
use crate::subscriber::Tally;
use crate::target::Target;

/// What a scenario reports.
pub struct Outcome {
    pub json: Value,
    pub summary: Vec<String>,
    /// False when something was lost or failed (the smoke mode's exit code).
    pub ok: bool,
}

/// Everything a scenario run needs to know up front.
pub struct Ctx {
    pub common: Common,
    pub target: Arc<Target>,
    pub run_start_us: u64,
}

impl Ctx {
    pub fn new(common: &Common, mode: PublishMode, store_id: Option<u64>) -> Result<Ctx> {
        let run_start_us = stamp::now_us();
        let target = Target {
            kind: common.target,
            ep: Endpoint::parse(&common.url)?,
            admin_token: common.admin_token.clone(),
            mode,
            store_id,
            poll_timeout: common.poll_timeout,
            after_request: common.after_request,
            run_id: run_start_us % 1_000_000_000,
        };
        Ok(Ctx {
            common: common.clone(),
            target: Arc::new(target),
            run_start_us,
        })
    }

    /// Start of the JSON result: what ran against what.
    pub fn base(&self, scenario: &str, n: usize) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("scenario".into(), json!(scenario));
        m.insert("target".into(), json!(self.common.target));
        let transport = match (self.common.transport, self.common.after_request) {
            (t, false) => t.name().to_string(),
            (t, true) => format!("{} after a request", t.name()),
        };
        m.insert("transport".into(), json!(transport));
        m.insert("n".into(), json!(n));
        m.insert("url".into(), json!(self.common.url));
        if let Some(l) = &self.common.label {
            m.insert("label".into(), json!(l));
        }
        m
    }

    /// Seconds a fleet of `n` may take to subscribe: paced set-up plus margin.
    pub fn settle_limit(&self, n: usize) -> Duration {
        Duration::from_secs(30 + n as u64 / self.common.connect_rate.max(1))
    }

    /// Server resident memory (kB) summed over the given pids, if any.
    pub fn server_rss_kb(&self) -> Option<u64> {
        procfs::sum(&self.common.server_pids, procfs::rss_kb)
    }

    /// Server CPU ticks summed over the given pids, if any.
    pub fn server_cpu_ticks(&self) -> Option<u64> {
        procfs::sum(&self.common.server_pids, procfs::cpu_ticks)
    }
}

/// Connection counters of a tally, into the result.
pub fn put_connections(m: &mut Map<String, Value>, t: &Tally) {
    m.insert("established".into(), json!(t.established.load(Relaxed)));
    m.insert("failed".into(), json!(t.failed.load(Relaxed)));
    m.insert("dropped".into(), json!(t.dropped.load(Relaxed)));
    m.insert("reconnects".into(), json!(t.reconnects.load(Relaxed)));
    m.insert("heartbeats".into(), json!(t.heartbeats.load(Relaxed)));
    m.insert("errors".into(), t.errors_json());
}

/// One human line about connections.
pub fn connections_line(t: &Tally, n: usize) -> String {
    format!(
        "connections: {} of {n} established, {} failed, {} dropped",
        t.established.load(Relaxed),
        t.failed.load(Relaxed),
        t.dropped.load(Relaxed)
    )
}

/// Waits until `tally.delivered` reaches `want` or `limit` passes.
pub async fn wait_delivered(t: &Tally, want: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while t.delivered.load(Relaxed) < want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// CPU microseconds of the server per delivery (or per publish), from tick counts.
pub fn cpu_per_delivery_us(
    before: Option<u64>,
    after: Option<u64>,
    deliveries: u64,
) -> Option<f64> {
    let (b, a) = (before?, after?);
    if deliveries == 0 {
        return None;
    }
    let secs = a.saturating_sub(b) as f64 / procfs::ticks_per_sec() as f64;
    Some(secs * 1e6 / deliveries as f64)
}
