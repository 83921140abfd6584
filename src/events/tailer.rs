//! Feeds the hub from the committed log, in id order.
//!
//! Publishing straight from each writer after its commit could reorder events (two
//! writers finish committing, the later one publishes first) and a client could
//! then move its cursor past an event it never got. Instead one tailer per instance
//! reads `id > last` from the log whenever a commit wakes it: a local commit, a
//! PostgreSQL `NOTIFY` from another instance, or a periodic tick as a safety net.
//! Reading the log also makes a listener's reconnect lossless: it just reads on.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Event;
use super::hub::Hub;
use crate::db::{Backend, Db, NOTIFY_CHANNEL, SESSIONS_CHANNEL};
use crate::metrics::Metrics;

const BATCH: usize = 1000;

/// Runs until `shutdown`; publishes every event after `start_after`.
pub async fn run(
    db: Db,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    start_after: i64,
    tick: Duration,
    shutdown: CancellationToken,
) {
    db.set_tailing(true);
    /// Commits stop waiting for publication once this tailer is gone.
    struct Stopped(Db);
    impl Drop for Stopped {
        fn drop(&mut self) {
            self.0.set_tailing(false);
        }
    }
    let _stopped = Stopped(db.clone());
    let wake = db.committed();
    if db.backend() == Backend::Postgres {
        tokio::spawn(listen(db.clone(), Arc::clone(&wake), shutdown.clone()));
    }
    let confirm = db.backend() == Backend::Postgres;
    let mut last = start_after;
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = wake.notified() => {}
            _ = interval.tick() => {}
        }
        loop {
            // This instance's own commits come handed over; the log is read for
            // the rest. On PostgreSQL once more after a hand-over: the wake may have
            // been another instance's NOTIFY. A SQLite file has one writer: this
            // process (its commits are published once synced; see db::durable).
            let handed = db.take_handed_off(last, BATCH);
            let from_log = handed.is_empty();
            let rows = if from_log {
                db.events_after(last, BATCH).await
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
                    db.mark_published(last);
                    let now = crate::time::now_millis();
                    for r in &rows {
                        let lag = u64::try_from(now - r.at).unwrap_or(0);
                        metrics.delivery_lag.observe(Duration::from_millis(lag));
                    }
                    if (from_log || !confirm) && rows.len() < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "reading the event log failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

/// Wakes the tailer on every `NOTIFY` from any instance, and after every reconnect
/// (notifications sent while disconnected are gone; the tailer's read catches up).
/// The wake after a reconnect comes once `LISTEN` is active again, so nothing
/// committed after it can be missed, and nothing before it is unread.
///
/// Also makes this instance's session cache forget what other instances change:
/// one user's sessions on their notification, everything after a reconnect.
async fn listen(db: Db, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect(db.url()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(e) = listener
            .listen_all([NOTIFY_CHANNEL, SESSIONS_CHANNEL])
            .await
        {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            continue;
        }
        db.forget_all_sessions();
        wake.notify_one();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                n = listener.try_recv() => match n {
                    Ok(Some(n)) if n.channel() == SESSIONS_CHANNEL => {
                        match n.payload().parse() {
                            Ok(user_id) => db.forget_sessions_of(user_id),
                            Err(_) => db.forget_all_sessions(),
                        }
                    }
                    Ok(Some(_)) => wake.notify_one(),
                    // The connection dropped: build a new one (and LISTEN) above.
                    Ok(None) => {
                        tracing::warn!("LISTEN connection lost; reconnecting");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN receive failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}
