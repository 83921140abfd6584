//! Feeds the hub from the committed log, in id order.
//!
//! Publishing straight from each writer after its commit could reorder events (two
//! writers finish committing, the later one publishes first) and a client could
//! then move its cursor past an event it never got. Instead one tailer per instance
//! reads `id > last` whenever it is woken ([`Publication::committed`]): by a local
//! commit, by the PostgreSQL [`super::listener`] for another instance's, or by a
//! periodic tick as a safety net. This instance's own commits come handed over
//! ([`Publication::take_after`]); everything else is read from the log, which also
//! makes a listener's reconnect lossless: the tailer just reads on.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Event;
use super::hub::Hub;
use super::publication::Publication;
use crate::db::{Backend, Db};
use crate::metrics::Metrics;

/// Most events read or taken at once.
const BATCH: usize = 1000;

/// How soon the tailer looks again while PostgreSQL's publish horizon waits.
const HORIZON_RECHECK: Duration = Duration::from_millis(2);

/// Runs until `shutdown`; publishes every event after `start_after` from `db`'s
/// log and from what its commits hand to `publication`.
pub async fn run(
    db: Db,
    publication: Arc<Publication>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    start_after: i64,
    tick: Duration,
    shutdown: CancellationToken,
) {
    let _tailing = publication.start_tailing();
    // On PostgreSQL other instances' events are only in the log: after a
    // hand-over the log is read once more when the listener heard of one (or
    // reconnected), and on the tick and the horizon's rechecks. A SQLite file
    // has one writer: this process (its commits are published once synced; see
    // db::durable).
    let postgres = db.backend() == Backend::Postgres;
    let mut last = start_after;
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // PostgreSQL: while the publish horizon waits for appenders to commit,
        // look again soon; their commits' NOTIFY may come before their lock goes.
        let soon = db.log().horizon_pending();
        let timed = tokio::select! {
            _ = shutdown.cancelled() => break,
            () = publication.committed() => false,
            _ = interval.tick() => true,
            () = tokio::time::sleep(HORIZON_RECHECK), if soon => true,
        };
        // Read before the log is, so a notification during the read asks again.
        let mut confirm = postgres && (publication.take_log_wake() || timed);
        loop {
            let handed = publication.take_after(last, BATCH);
            let from_log = handed.is_empty();
            if from_log {
                confirm = false;
            }
            let rows = if from_log {
                db.log().after(last, BATCH).await
            } else {
                Ok(handed)
            };
            match rows {
                Ok(rows) => {
                    let Some(newest) = rows.last() else { break };
                    last = newest.id;
                    let events: Vec<Arc<Event>> = rows
                        .iter()
                        .map(|r| Arc::new(Event::from_stored(r)))
                        .collect();
                    hub.publish(&events);
                    publication.mark_published(last);
                    let now = crate::time::now_millis();
                    for r in &rows {
                        let lag = u64::try_from(now - r.at).unwrap_or(0);
                        metrics.delivery_lag.observe(Duration::from_millis(lag));
                    }
                    if !confirm && rows.len() < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "reading the event log failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    // Whatever asked for this read still wants it.
                    if postgres {
                        publication.wake_for_log();
                    }
                    break;
                }
            }
        }
    }
}
