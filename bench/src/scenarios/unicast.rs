//! `unicast N`: N users on their own streams; events to random users at a rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde_json::json;

use super::{Ctx, Outcome, connections_line, cpu_per_delivery_us, put_connections, wait_delivered};
use crate::api;
use crate::cli::{PublishMode, TargetKind};
use crate::error::Result;
use crate::fleet::{self, Fleet};
use crate::publisher::Publisher;
use crate::stamp;
use crate::stats::{self, human_us};
use crate::subscriber::Tally;
use crate::target::{Stream, Target};

/// Settings of one unicast run.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub n: usize,
    pub rate: u64,
    pub seconds: u64,
    pub mode: PublishMode,
    pub publishers: usize,
    pub store_id: Option<u64>,
}

/// Deterministic pseudo-random pick (splitmix64): no RNG crate needed, and a run
/// is reproducible from its run id.
pub fn pick(seed: u64, i: u64, n: usize) -> usize {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % n.max(1) as u64) as usize
}

pub async fn run(ctx: &Ctx, p: Params) -> Result<Outcome> {
    let c = &ctx.common;
    let n = p.n;
    let mut target: Target = (*ctx.target).clone();
    let streams: Vec<Stream> = match c.target {
        TargetKind::Nchan => (0..n as u64)
            .map(|id| Stream::User { id, token: None })
            .collect(),
        TargetKind::Pointcast => {
            let limit = Duration::from_secs(c.max_secs);
            let users = api::provision_users(ctx.target.clone(), n, limit).await?;
            if p.mode == PublishMode::Grant {
                let store = api::prepare_grants(ctx.target.clone(), &users, p.store_id).await?;
                target.store_id = Some(store);
            }
            users
                .into_iter()
                .map(|u| Stream::User {
                    id: u.id,
                    token: Some(u.token),
                })
                .collect()
        }
    };
    let target = Arc::new(target);
    let tally = Arc::new(Tally::new(ctx.run_start_us));
    let subs = fleet::subs(streams.clone(), &fleet::sources(n, c.source_ips));
    let fleet = Fleet::launch(
        target.clone(),
        subs,
        c.transport,
        tally.clone(),
        c.connect_rate,
    )
    .await;
    fleet.settle(n, ctx.settle_limit(n)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let total = p.rate * p.seconds;
    let sent_ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let last_send_us = Arc::new(AtomicU64::new(0));
    let streams = Arc::new(streams);
    // The server's CPU over the publishing and the deliveries: per publish it
    // moves far less from run to run than the rate a closed loop achieves.
    let cpu_before = ctx.server_cpu_ticks();
    let start = tokio::time::Instant::now();
    let start_us = stamp::now_us();
    // Publishing stops at this point whatever is left, so the run stays bounded.
    let hard_stop = start + Duration::from_secs(p.seconds + c.grace_secs);
    let workers = p.publishers.max(1) as u64;
    let mut tasks = Vec::new();
    for k in 0..workers {
        let (target, streams, tally) = (target.clone(), streams.clone(), tally.clone());
        let (sent_ok, errors, last) = (sent_ok.clone(), errors.clone(), last_send_us.clone());
        let (rate, seed) = (p.rate.max(1), target.run_id);
        tasks.push(tokio::spawn(async move {
            let mut publisher = Publisher::new(target.clone());
            let mut i = k;
            while i < total {
                let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                if due >= hard_stop || tokio::time::Instant::now() >= hard_stop {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let stream = &streams[pick(seed, i, streams.len())];
                let user = match stream {
                    Stream::User { id, .. } => Some(*id),
                    Stream::Public => None,
                };
                let seq = i + 1;
                let text = stamp::format(seq, user, stamp::now_us());
                match publisher
                    .send(&target.publish_request(stream, &text, seq))
                    .await
                {
                    Ok(()) => {
                        sent_ok.fetch_add(1, Relaxed);
                        last.fetch_max(stamp::now_us(), Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Relaxed);
                        tally.error(&e);
                    }
                }
                i += workers;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let sent = sent_ok.load(Relaxed);
    wait_delivered(&tally, sent, Duration::from_secs(c.grace_secs)).await;
    let cpu_after = ctx.server_cpu_ticks();
    let received = tally.delivered.load(Relaxed);
    fleet.stop().await;

    let elapsed_s = (last_send_us.load(Relaxed).saturating_sub(start_us)) as f64 / 1e6;
    let achieved = if elapsed_s > 0.0 {
        sent as f64 / elapsed_s
    } else {
        0.0
    };
    let mut lat: Vec<u64> = tally
        .take_deliveries()
        .iter()
        .map(|d| d.latency_us)
        .collect();
    let lat = stats::summarize(&mut lat);
    let lost = sent.saturating_sub(received);
    let publish_errors = errors.load(Relaxed);

    let mut m = ctx.base("unicast", n);
    put_connections(&mut m, &tally);
    m.insert("rate".into(), json!(p.rate));
    m.insert("seconds".into(), json!(p.seconds));
    m.insert("publish_mode".into(), json!(p.mode));
    m.insert("planned".into(), json!(total));
    m.insert("published_ok".into(), json!(sent));
    m.insert("publish_errors".into(), json!(publish_errors));
    m.insert(
        "achieved_rate".into(),
        json!((achieved * 10.0).round() / 10.0),
    );
    m.insert("received".into(), json!(received));
    m.insert("lost".into(), json!(lost));
    m.insert("duplicates".into(), json!(tally.duplicates.load(Relaxed)));
    m.insert("misrouted".into(), json!(tally.misrouted.load(Relaxed)));
    m.insert("latency".into(), json!(lat));
    let cpu = cpu_per_delivery_us(cpu_before, cpu_after, sent);
    m.insert("server_cpu_us_per_publish".into(), json!(cpu));
    let summary = vec![
        connections_line(&tally, n),
        format!(
            "published {sent} of {total} ({publish_errors} errors) at {achieved:.0}/s (asked {}/s)",
            p.rate
        ),
        format!(
            "received {received} ({lost} lost, {} misrouted)",
            tally.misrouted.load(Relaxed)
        ),
        format!(
            "latency p50 {} p90 {} p99 {} max {}",
            human_us(lat.p50_us),
            human_us(lat.p90_us),
            human_us(lat.p99_us),
            human_us(lat.max_us)
        ),
        match cpu {
            Some(us) => format!("server CPU per publish {us:.0} us"),
            None => "server CPU per publish: no --server-pid".into(),
        },
    ];
    let ok = lost == 0
        && publish_errors == 0
        && tally.misrouted.load(Relaxed) == 0
        && tally.established.load(Relaxed) == n
        && tally.dropped.load(Relaxed) == 0;
    Ok(Outcome {
        json: m.into(),
        summary,
        ok,
    })
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn pick_spreads_and_stays_in_range() {
        let mut hits = [0u32; 10];
        for i in 0..10_000 {
            hits[pick(42, i, 10)] += 1;
        }
        assert!(hits.iter().all(|&h| (800..1200).contains(&h)), "{hits:?}");
        assert_eq!(pick(1, 2, 0), 0);
    }
}
