//! Side-by-side markdown table from `RESULT` lines of several runs.
//!
//! Runs are matched on (scenario, publish mode, transport, N, rate); each metric
//! gets one column per target and the ratio pointcast ÷ nchan. When a scenario ran
//! several times, each cell is the median of its runs (the issue asks for medians
//! of three).

use std::collections::BTreeMap;

use serde_json::Value;

/// Prefix of the machine-readable line every scenario prints.
pub const PREFIX: &str = "RESULT ";

/// Metrics shown per scenario: (label, JSON pointer).
fn metrics(scenario: &str) -> &'static [(&'static str, &'static str)] {
    match scenario {
        "idle" => &[
            ("held connections", "/held"),
            ("failed + dropped", "/_lost_conns"),
            ("server RSS per connection (bytes)", "/rss_per_conn_bytes"),
        ],
        "fanout" => &[
            ("deliveries lost", "/lost"),
            ("latency p50 (ms)", "/latency/p50_us"),
            ("latency p99 (ms)", "/latency/p99_us"),
            ("latency max (ms)", "/latency/max_us"),
            (
                "last subscriber, worst publish (ms)",
                "/last_subscriber/max_us",
            ),
            (
                "server CPU per delivery (us)",
                "/server_cpu_us_per_delivery",
            ),
        ],
        "unicast" => &[
            ("achieved rate (/s)", "/achieved_rate"),
            ("events lost", "/lost"),
            ("latency p50 (ms)", "/latency/p50_us"),
            ("latency p99 (ms)", "/latency/p99_us"),
            ("latency max (ms)", "/latency/max_us"),
            ("server CPU per publish (us)", "/server_cpu_us_per_publish"),
        ],
        _ => &[],
    }
}

/// Extracts the JSON of every `RESULT` line in `text`.
pub fn parse_results(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix(PREFIX))
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect()
}

fn value(r: &Value, pointer: &str) -> Option<f64> {
    if pointer == "/_lost_conns" {
        let f = r.get("failed")?.as_f64()?;
        let d = r.get("dropped")?.as_f64()?;
        return Some(f + d);
    }
    let v = r.pointer(pointer)?.as_f64()?;
    // Latencies are stored in microseconds and shown in milliseconds.
    Some(if pointer.ends_with("_us") {
        v / 1000.0
    } else {
        v
    })
}

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e12 => format!("{x:.0}"),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// The median of the values present (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Builds the markdown table.
pub fn render(results: &[Value]) -> String {
    type Key = (String, String, String, u64, u64);
    let mut groups: BTreeMap<Key, BTreeMap<String, Vec<&Value>>> = BTreeMap::new();
    let mut most_runs = 0;
    for r in results {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let u = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
        // A label (e.g. "postgres") names a variant of a run: its own row.
        let mode = match (s("publish_mode"), s("label")) {
            (m, l) if l.is_empty() => m,
            (m, l) => format!("{m} ({l})"),
        };
        let key = (s("scenario"), mode, s("transport"), u("n"), u("rate"));
        let runs = groups
            .entry(key)
            .or_default()
            .entry(s("target"))
            .or_default();
        runs.push(r);
        most_runs = most_runs.max(runs.len());
    }
    let mut out = String::new();
    if most_runs > 1 {
        out.push_str(&format!(
            "Each cell is the median of that target's runs (up to {most_runs}).\n\n"
        ));
    }
    out.push_str(
        "| scenario | transport | N | metric | pointcast | nchan | pointcast ÷ nchan |\n|---|---|---:|---|---:|---:|---:|\n",
    );
    for ((scenario, mode, transport, n, rate), by_target) in &groups {
        let mut name = scenario.clone();
        if !mode.is_empty() && mode != "announce" {
            name = format!("{name} {mode}");
        }
        if *rate > 0 {
            name = format!("{name} @{rate}/s");
        }
        for (label, ptr) in metrics(scenario) {
            let cell = |target: &str| {
                by_target
                    .get(target)
                    .and_then(|runs| median(runs.iter().filter_map(|r| value(r, ptr)).collect()))
            };
            let (p, q) = (cell("pointcast"), cell("nchan"));
            let ratio = match (p, q) {
                (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
                _ => "–".into(),
            };
            out.push_str(&format!(
                "| {name} | {transport} | {n} | {label} | {} | {} | {ratio} |\n",
                fmt(p),
                fmt(q)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_targets() {
        let text = r#"noise
RESULT {"scenario":"fanout","target":"pointcast","transport":"sse","n":10,"lost":0,"latency":{"p50_us":2000,"p99_us":4000,"max_us":5000},"last_subscriber":{"max_us":5000},"server_cpu_us_per_delivery":null}
RESULT {"scenario":"fanout","target":"nchan","transport":"sse","n":10,"lost":0,"latency":{"p50_us":1000,"p99_us":2000,"max_us":2500},"last_subscriber":{"max_us":2500},"server_cpu_us_per_delivery":1.5}
RESULT {broken"#;
        let rs = parse_results(text);
        assert_eq!(rs.len(), 2);
        let t = render(&rs);
        assert!(
            t.contains("| fanout | sse | 10 | latency p50 (ms) | 2 | 1 | 2.00 |"),
            "{t}"
        );
        assert!(
            t.contains("| server CPU per delivery (us) | – | 1.50 | – |"),
            "{t}"
        );
    }

    #[test]
    fn repeated_runs_give_medians_and_modes_stay_apart() {
        let line = |mode: &str, p99: u64| {
            format!(
                r#"RESULT {{"scenario":"unicast","target":"pointcast","transport":"sse","n":10,"rate":100,"publish_mode":"{mode}","achieved_rate":100,"lost":0,"latency":{{"p50_us":1000,"p99_us":{p99},"max_us":9000}}}}"#
            )
        };
        let text = [
            line("announce", 3000),
            line("announce", 1000),
            line("announce", 2000),
            line("grant", 8000),
        ]
        .join("\n");
        let t = render(&parse_results(&text));
        assert!(t.starts_with("Each cell is the median"), "{t}");
        assert!(
            t.contains("| unicast @100/s | sse | 10 | latency p99 (ms) | 2 | – | – |"),
            "{t}"
        );
        assert!(
            t.contains("| unicast grant @100/s | sse | 10 | latency p99 (ms) | 8 | – | – |"),
            "{t}"
        );
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
