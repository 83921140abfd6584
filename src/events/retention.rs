//! Keeps the log to its retention window (default 7 days). Readers whose cursor
//! falls before the cut get one `stream.reset` and reload their state.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::time::now_millis;

/// Prunes every `every` until `shutdown`.
pub async fn run(db: Db, retention: Duration, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cut =
            now_millis().saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        match db.log().prune(cut).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "pruned old events"),
            Err(e) => tracing::warn!(error = ?e, "pruning the event log failed"),
        }
    }
}
