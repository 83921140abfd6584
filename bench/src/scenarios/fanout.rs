//! `fanout N`: N subscribers of one public topic, P publishes spaced apart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::json;

use super::{Ctx, Outcome, connections_line, cpu_per_delivery_us, put_connections, wait_delivered};
use crate::error::Result;
use crate::fleet::{self, Fleet};
use crate::publisher::Publisher;
use crate::stamp;
use crate::stats::{self, human_us};
use crate::subscriber::Tally;
use crate::target::Stream;

/// Pause between "all subscribed" and the first publish, so a server that
/// registers a subscriber just after answering its headers has done so.
const SETTLE_PAUSE: Duration = Duration::from_millis(500);

pub async fn run(ctx: &Ctx, n: usize, publishes: u64, interval_ms: u64) -> Result<Outcome> {
    let c = &ctx.common;
    let tally = Arc::new(Tally::new(ctx.run_start_us));
    let subs = fleet::subs(vec![Stream::Public; n], &fleet::sources(n, c.source_ips));
    let fleet = Fleet::launch(
        ctx.target.clone(),
        subs,
        c.transport,
        tally.clone(),
        c.connect_rate,
    )
    .await;
    fleet.settle(n, ctx.settle_limit(n)).await;
    tokio::time::sleep(SETTLE_PAUSE).await;

    let subscribed = tally.established.load(Relaxed) as u64;
    let cpu_before = ctx.server_cpu_ticks();
    let mut publisher = Publisher::new(ctx.target.clone());
    let mut sent_ok = 0u64;
    let mut publish_errors = 0u64;
    let start = tokio::time::Instant::now();
    for seq in 1..=publishes {
        let due = start + Duration::from_millis(interval_ms * (seq - 1));
        tokio::time::sleep_until(due).await;
        let text = stamp::format(seq, None, stamp::now_us());
        let req = ctx.target.publish_request(&Stream::Public, &text, seq);
        match publisher.send(&req).await {
            Ok(()) => sent_ok += 1,
            Err(e) => {
                publish_errors += 1;
                tally.error(&e);
            }
        }
    }
    let expected = subscribed * sent_ok;
    wait_delivered(&tally, expected, Duration::from_secs(c.grace_secs)).await;
    let cpu_after = ctx.server_cpu_ticks();
    let received = tally.delivered.load(Relaxed);
    fleet.stop().await;

    let deliveries = tally.take_deliveries();
    // Time until the last subscriber had each publish = the largest latency per seq.
    let mut last_per_seq: BTreeMap<u64, u64> = BTreeMap::new();
    for d in &deliveries {
        let e = last_per_seq.entry(d.seq).or_default();
        *e = (*e).max(d.latency_us);
    }
    let mut lat: Vec<u64> = deliveries.iter().map(|d| d.latency_us).collect();
    let lat = stats::summarize(&mut lat);
    let mut complete: Vec<u64> = last_per_seq.values().copied().collect();
    let complete = stats::summarize(&mut complete);
    let cpu = cpu_per_delivery_us(cpu_before, cpu_after, received);
    let lost = expected.saturating_sub(received);

    let mut m = ctx.base("fanout", n);
    put_connections(&mut m, &tally);
    m.insert("publishes".into(), json!(publishes));
    m.insert("interval_ms".into(), json!(interval_ms));
    m.insert("published_ok".into(), json!(sent_ok));
    m.insert("publish_errors".into(), json!(publish_errors));
    m.insert("expected".into(), json!(expected));
    m.insert("received".into(), json!(received));
    m.insert("lost".into(), json!(lost));
    m.insert("duplicates".into(), json!(tally.duplicates.load(Relaxed)));
    m.insert("latency".into(), json!(lat));
    m.insert("last_subscriber".into(), json!(complete));
    m.insert("server_cpu_us_per_delivery".into(), json!(cpu));
    let summary = vec![
        connections_line(&tally, n),
        format!(
            "publishes: {sent_ok} of {publishes} ok; deliveries {received} of {expected} ({lost} lost)"
        ),
        format!(
            "latency p50 {} p90 {} p99 {} max {}",
            human_us(lat.p50_us),
            human_us(lat.p90_us),
            human_us(lat.p99_us),
            human_us(lat.max_us)
        ),
        format!(
            "last subscriber has a publish after: p50 {} max {}",
            human_us(complete.p50_us),
            human_us(complete.max_us)
        ),
        match cpu {
            Some(us) => format!("server CPU per delivery: {us:.2}us"),
            None => "server CPU not measured (give --server-pid)".into(),
        },
    ];
    let ok = lost == 0
        && sent_ok == publishes
        && subscribed == n as u64
        && tally.dropped.load(Relaxed) == 0;
    Ok(Outcome {
        json: m.into(),
        summary,
        ok,
    })
}
