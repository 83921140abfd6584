//! `smoke`: a few seconds of small fan-out (SSE and long-poll) and unicast;
//! fails if anything is lost. Meant for the project's test suite.

use super::{Ctx, Outcome, fanout, unicast};
use crate::cli::{Common, PublishMode, Transport};
use crate::error::Result;
use serde_json::{Value, json};

pub async fn run(common: &Common) -> Result<Outcome> {
    let mut parts: Vec<(String, Outcome)> = Vec::new();
    for transport in [Transport::Sse, Transport::Poll] {
        let mut c = common.clone();
        c.transport = transport;
        c.grace_secs = c.grace_secs.min(5);
        // pointcast caps streams per anonymous principal (keyed by address, 16 by
        // default); five source addresses keep 20 subscribers at 4 each, so the
        // smoke test passes against a server with default settings.
        if c.source_ips == 0 {
            c.source_ips = 5;
        }
        let ctx = Ctx::new(&c, PublishMode::Announce, None)?;
        let o = fanout::run(&ctx, 20, 5, 200).await?;
        parts.push((format!("fanout/{}", transport.name()), o));
        let p = unicast::Params {
            n: 10,
            rate: 20,
            seconds: 2,
            mode: PublishMode::Announce,
            publishers: 2,
            store_id: None,
        };
        let o = unicast::run(&ctx, p).await?;
        parts.push((format!("unicast/{}", transport.name()), o));
    }
    let ok = parts.iter().all(|(_, o)| o.ok);
    let mut summary = Vec::new();
    let mut checks = serde_json::Map::new();
    for (name, o) in parts {
        summary.push(format!("{name}: {}", if o.ok { "ok" } else { "FAILED" }));
        summary.extend(o.summary.into_iter().map(|l| format!("  {l}")));
        checks.insert(name, o.json);
    }
    Ok(Outcome {
        json: json!({"scenario": "smoke", "target": common.target, "ok": ok, "checks": Value::Object(checks)}),
        summary,
        ok,
    })
}
