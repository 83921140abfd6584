//! `idle N`: hold N subscribed connections; memory per connection.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::json;

use super::{Ctx, Outcome, connections_line, put_connections};
use crate::error::Result;
use crate::fleet::{self, Fleet};
use crate::subscriber::Tally;
use crate::target::Stream;

pub async fn run(ctx: &Ctx, n: usize, hold_secs: u64) -> Result<Outcome> {
    let c = &ctx.common;
    let rss_before = ctx.server_rss_kb();
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
    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let rss_after = ctx.server_rss_kb();
    let held = tally.established.load(Relaxed) - tally.dropped.load(Relaxed);
    fleet.stop().await;

    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) if held > 0 => Some(a.saturating_sub(b) as f64 * 1024.0 / held as f64),
        _ => None,
    };
    let mut m = ctx.base("idle", n);
    put_connections(&mut m, &tally);
    m.insert("held".into(), json!(held));
    m.insert("hold_secs".into(), json!(hold_secs));
    m.insert("rss_before_kb".into(), json!(rss_before));
    m.insert("rss_after_kb".into(), json!(rss_after));
    m.insert(
        "rss_per_conn_bytes".into(),
        json!(per_conn.map(|v| v.round())),
    );
    let mut summary = vec![connections_line(&tally, n)];
    summary.push(match per_conn {
        Some(b) => format!(
            "server RSS {} -> {} kB: {:.0} bytes per held connection ({held} held)",
            rss_before.unwrap_or(0),
            rss_after.unwrap_or(0),
            b
        ),
        None => "server RSS not measured (give --server-pid)".into(),
    });
    Ok(Outcome {
        json: m.into(),
        summary,
        ok: held == n,
    })
}
