//! Prometheus metrics, kept per app (not in a process-global recorder) so that
//! several servers in one test process count separately.
//!
//! Counters and fixed-bucket histograms on atomics: recording is a few relaxed
//! adds on the hot path, rendering happens only on a scrape.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A histogram of durations with fixed bucket bounds in seconds.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

/// Bounds for latencies from a millisecond to ten seconds.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Bounds for long-poll waits, up to the 55 s maximum.
pub const WAIT_BOUNDS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 25.0, 55.0];

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render_into(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// A plain counter.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything the server counts besides what the hub and the registry hold.
pub struct Metrics {
    /// Requests answered, by status class (1xx..5xx).
    pub http_responses: [Counter; 5],
    /// Commit to publish, per event, measured by the tailer.
    pub delivery_lag: Histogram,
    /// How long long-polls waited before answering.
    pub poll_wait: Histogram,
    /// Long-polls answered empty at their timeout.
    pub poll_timeouts: Counter,
    /// Mileage grants that credited points (retries excluded).
    pub grants: Counter,
    /// Orders placed.
    pub orders: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            http_responses: Default::default(),
            delivery_lag: Histogram::new(LATENCY_BOUNDS),
            poll_wait: Histogram::new(WAIT_BOUNDS),
            poll_timeouts: Counter::default(),
            grants: Counter::default(),
            orders: Counter::default(),
        }
    }
}

impl Metrics {
    /// Counts and logs one answered request: the one request-log line, written for
    /// actix's routes (the middleware in `startup.rs`) and for the lean paths
    /// (`lean`, see `transport::edge`) alike. `path` is the path only: a query
    /// string may carry an access token.
    pub fn log_request(&self, method: &str, path: &str, status: u16, started: Instant, lean: bool) {
        self.record_response(status);
        tracing::info!(
            %method,
            %path,
            status,
            us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            edge = lean,
            "request"
        );
    }

    /// Counts a response by its status class.
    pub fn record_response(&self, status: u16) {
        if let Some(c) = self
            .http_responses
            .get(usize::from(status / 100).wrapping_sub(1))
        {
            c.inc();
        }
    }

    /// Renders these metrics; `extra` adds the gauges and counters kept elsewhere.
    pub fn render(&self, extra: &[(&str, &str, &str, u64)]) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP pointcast_http_responses_total Responses sent, by status class.\n# TYPE pointcast_http_responses_total counter"
        );
        for (i, c) in self.http_responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "pointcast_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.get()
            );
        }
        for (name, kind, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        for (name, help, value) in [
            (
                "pointcast_poll_timeouts_total",
                "Long-polls answered empty at their timeout.",
                self.poll_timeouts.get(),
            ),
            (
                "pointcast_grants_total",
                "Mileage grants that credited points.",
                self.grants.get(),
            ),
            (
                "pointcast_orders_total",
                "Orders placed.",
                self.orders.get(),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        self.delivery_lag.render_into(
            &mut out,
            "pointcast_delivery_lag_seconds",
            "From an event's commit to its publication to subscribers.",
        );
        self.poll_wait.render_into(
            &mut out,
            "pointcast_poll_wait_seconds",
            "How long long-polls waited before answering.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets() {
        let h = Histogram::new(&[0.01, 0.1]);
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_secs(5));
        let mut out = String::new();
        h.render_into(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.01\"} 1\n"));
        assert!(out.contains("x_bucket{le=\"0.1\"} 2\n"));
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3\n"));
        assert!(out.contains("x_count 3\n"));
    }

    #[test]
    fn responses_count_by_class() {
        let m = Metrics::default();
        m.record_response(200);
        m.record_response(201);
        m.record_response(404);
        m.record_response(0);
        let out = m.render(&[]);
        assert!(out.contains("pointcast_http_responses_total{class=\"2xx\"} 2"));
        assert!(out.contains("pointcast_http_responses_total{class=\"4xx\"} 1"));
    }
}
