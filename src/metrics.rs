//! Prometheus metrics through `prometheus-client`, kept per app (not in a
//! process-global registry) so that several servers in one test process count
//! separately.
//!
//! Counters and histograms are `prometheus-client`'s own (atomics: recording is
//! a few relaxed adds on the hot path). The values kept elsewhere (hub counters,
//! connection counts, group commits) and the process's own figures read from
//! `/proc` are sampled at scrape time: [`Metrics::render`] builds a registry for
//! that one scrape, holding clones of the long-lived metrics (which share their
//! atomics) beside gauges set to the sampled values, and encodes it in the
//! Prometheus text format 0.0.4.

use std::time::{Duration, Instant};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;
use prometheus_client::registry::Registry;

/// A monotonically increasing count (`inc`, `inc_by`, `get`).
pub type Counter = PcCounter;

/// A histogram of durations with fixed bucket bounds in seconds.
#[derive(Clone, Debug)]
pub struct Histogram(PcHistogram);

/// Bounds for latencies from a millisecond to ten seconds.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Bounds for long-poll waits, up to the 55 s maximum.
pub const WAIT_BOUNDS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 25.0, 55.0];

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self(PcHistogram::new(bounds.iter().copied()))
    }

    pub fn observe(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
    }
}

/// Response status classes, as labels.
type ClassLabel = Vec<(&'static str, &'static str)>;
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Everything the server counts besides what the hub and the registry hold.
pub struct Metrics {
    /// Requests answered, by status class (1xx..5xx): plain counters on the hot
    /// path (no lock), copied into a labelled family per scrape.
    http_responses: [Counter; 5],
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

/// A value sampled at scrape time: (name, `gauge` or `counter`, help, value).
pub type Sampled<'a> = (&'a str, &'a str, &'a str, u64);

/// `prometheus-client` adds the final full stop and, for counters, `_total`.
fn help(h: &str) -> &str {
    h.trim_end_matches('.')
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

    /// Renders these metrics, the `sampled` values kept elsewhere, the
    /// `histograms` kept elsewhere (name, help, histogram) and the process's own
    /// figures.
    pub fn render(
        &self,
        sampled: &[Sampled<'_>],
        histograms: &[(&str, &str, &Histogram)],
    ) -> String {
        let mut r = Registry::default();
        // Every class shows from the first scrape, at 0 until it happens.
        let classes = Family::<ClassLabel, Counter>::default();
        for (class, c) in CLASSES.iter().zip(&self.http_responses) {
            classes
                .get_or_create(&vec![("class", *class)])
                .inc_by(c.get());
        }
        r.register(
            "pointcast_http_responses",
            "Responses sent, by status class",
            classes,
        );
        for (name, kind, h, value) in sampled {
            if *kind == "counter" {
                let c = Counter::default();
                c.inc_by(*value);
                r.register(name.trim_end_matches("_total"), help(h), c);
            } else {
                let g = Gauge::<i64>::default();
                g.set(i64::try_from(*value).unwrap_or(i64::MAX));
                r.register(*name, help(h), g);
            }
        }
        for (name, h, c) in [
            (
                "pointcast_poll_timeouts",
                "Long-polls answered empty at their timeout",
                &self.poll_timeouts,
            ),
            (
                "pointcast_grants",
                "Mileage grants that credited points",
                &self.grants,
            ),
            ("pointcast_orders", "Orders placed", &self.orders),
        ] {
            r.register(name, h, c.clone());
        }
        r.register(
            "pointcast_delivery_lag_seconds",
            "From an event's commit to its publication to subscribers",
            self.delivery_lag.0.clone(),
        );
        r.register(
            "pointcast_poll_wait_seconds",
            "How long long-polls waited before answering",
            self.poll_wait.0.clone(),
        );
        for (name, h, hist) in histograms {
            r.register(*name, help(h), hist.0.clone());
        }
        process::register(&mut r);
        let mut out = String::with_capacity(4096);
        // unwrap-free: writing to a String cannot fail; an error would only
        // truncate the scrape.
        let _ = prometheus_text::encode(&mut out, &r);
        out
    }
}

/// The process's own figures, read from `/proc/self` at scrape time (Linux; on
/// other systems they are simply absent). Names follow the Prometheus client
/// libraries' process collector, so existing dashboards work.
mod process {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Registry;

    /// The unit of `utime` and `stime` in `/proc/self/stat` (USER_HZ), 100 on
    /// every Linux architecture we run on.
    const TICKS_PER_SECOND: f64 = 100.0;

    pub fn register(r: &mut Registry) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |key: &str| {
            status.lines().find_map(|l| {
                let rest = l.strip_prefix(key)?.trim();
                rest.split_whitespace().next()?.parse::<i64>().ok()
            })
        };
        let gauge = |r: &mut Registry, name: &str, h: &str, v: Option<i64>| {
            if let Some(v) = v {
                let g = Gauge::<i64>::default();
                g.set(v);
                r.register(name, h, g);
            }
        };
        gauge(
            r,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            kb("VmRSS:").map(|k| k * 1024),
        );
        gauge(
            r,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            kb("VmSize:").map(|k| k * 1024),
        );
        gauge(r, "process_threads", "OS threads", kb("Threads:"));
        let fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as i64);
        gauge(r, "process_open_fds", "Open file descriptors", fds);
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| {
                l.lines()
                    .find(|x| x.starts_with("Max open files"))?
                    .split_whitespace()
                    .nth(3)?
                    .parse()
                    .ok()
            });
        gauge(
            r,
            "process_max_fds",
            "Maximum open file descriptors (soft limit)",
            max_fds,
        );
        if let Some(cpu) = cpu_seconds() {
            let c = Counter::<f64, std::sync::atomic::AtomicU64>::default();
            c.inc_by(cpu);
            r.register(
                "process_cpu_seconds",
                "User and system CPU time spent in seconds",
                c,
            );
        }
    }

    /// utime + stime from `/proc/self/stat`, in seconds.
    fn cpu_seconds() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) may hold spaces; fields after its `)`.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // After `)`: state is field 3, so utime (14) and stime (15) are 11 and 12.
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / TICKS_PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(out: &str, name: &str) -> f64 {
        out.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from:\n{out}"))
    }

    #[test]
    fn histograms_render_cumulative_buckets() {
        let m = Metrics::default();
        m.poll_wait.observe(Duration::from_millis(5));
        m.poll_wait.observe(Duration::from_millis(50));
        m.poll_wait.observe(Duration::from_secs(100));
        let out = m.render(&[], &[]);
        assert_eq!(
            sample(&out, "pointcast_poll_wait_seconds_bucket{le=\"0.01\"}"),
            1.0
        );
        assert_eq!(
            sample(&out, "pointcast_poll_wait_seconds_bucket{le=\"0.1\"}"),
            2.0
        );
        assert_eq!(
            sample(&out, "pointcast_poll_wait_seconds_bucket{le=\"+Inf\"}"),
            3.0
        );
        assert_eq!(sample(&out, "pointcast_poll_wait_seconds_count"), 3.0);
    }

    #[test]
    fn responses_count_by_class_and_sampled_values_keep_their_names() {
        let m = Metrics::default();
        m.record_response(200);
        m.record_response(201);
        m.record_response(404);
        m.record_response(0);
        let out = m.render(
            &[
                ("pointcast_x_total", "counter", "X.", 7),
                ("pointcast_y", "gauge", "Y.", 3),
            ],
            &[],
        );
        assert_eq!(
            sample(&out, "pointcast_http_responses_total{class=\"2xx\"}"),
            2.0
        );
        assert_eq!(
            sample(&out, "pointcast_http_responses_total{class=\"4xx\"}"),
            1.0
        );
        assert_eq!(
            sample(&out, "pointcast_http_responses_total{class=\"5xx\"}"),
            0.0
        );
        assert_eq!(sample(&out, "pointcast_x_total"), 7.0);
        assert_eq!(sample(&out, "pointcast_y"), 3.0);
        assert!(out.contains("# TYPE pointcast_x_total counter"));
        assert!(!out.contains(".."), "one full stop per help line");
    }

    #[test]
    fn process_figures_come_from_proc() {
        let out = Metrics::default().render(&[], &[]);
        assert!(sample(&out, "process_resident_memory_bytes") > 1_000_000.0);
        assert!(sample(&out, "process_open_fds") >= 3.0);
        assert!(sample(&out, "process_cpu_seconds_total") >= 0.0);
        assert!(sample(&out, "process_max_fds") >= sample(&out, "process_open_fds"));
    }
}
