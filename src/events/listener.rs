//! The PostgreSQL listener: what other instances' commits mean for this one.
//!
//! Instances sharing a PostgreSQL database `NOTIFY` at commit (see [`crate::db::Tx`]):
//! on [`NOTIFY_CHANNEL`] after appending events, on [`SESSIONS_CHANNEL`] with a
//! user id after ending or renaming that user's sessions. This module `LISTEN`s and
//! tells each part here only what it needs to know:
//! - the tailer ([`Publication::wake_for_log`]): another instance's events may be
//!   waiting in the log (this instance's own notifications are ignored: its
//!   events were handed to its tailer already); also
//!   after every reconnect, since notifications sent while disconnected are gone
//!   (the tailer's read catches up). That wake comes once `LISTEN` is active again,
//!   so nothing committed after it can be missed, and nothing before it is unread;
//! - the session cache ([`SessionCache::forget_user`]): one user's sessions
//!   changed; and everything after a reconnect ([`SessionCache::clear`]), since
//!   anything may have changed meanwhile.
//!
//! SQLite has one process per file and nothing to listen to.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::publication::Publication;
use crate::db::session_cache::SessionCache;
use crate::db::{NOTIFY_CHANNEL, SESSIONS_CHANNEL};

/// Listens on `url` until `shutdown`, reconnecting whenever the connection drops.
/// `own` is the payload of this instance's own event notifications (see
/// [`crate::db::Db::instance_tag`]): its events were handed to its tailer, so
/// hearing of them again would only make the tailer read the log for nothing.
pub async fn run(
    url: String,
    own: String,
    publication: Arc<Publication>,
    sessions: Arc<SessionCache>,
    shutdown: CancellationToken,
) {
    loop {
        let mut listener = match PgListener::connect(&url).await {
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
        sessions.clear();
        publication.wake_for_log();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                n = listener.try_recv() => match n {
                    Ok(Some(n)) if n.channel() == SESSIONS_CHANNEL => {
                        match n.payload().parse() {
                            Ok(user_id) => sessions.forget_user(user_id),
                            Err(_) => sessions.clear(),
                        }
                    }
                    Ok(Some(n)) if n.payload() == own => {}
                    Ok(Some(_)) => publication.wake_for_log(),
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
