//! The durable event log: appended inside a caller's transaction ([`super::Tx::emit`]),
//! or alone ([`EventLog::append_alone`]); read in id order by the push core (the
//! tailer, a resuming reader's backlog) and pruned to its retention window.
//!
//! [`EventLog`] (`db.log()`) gathers what the log offers besides a transaction's
//! appends, so the database handle itself stays small.

use crate::db::sql;
use std::fmt::Write as _;

use anyhow::Context;

use super::writer::Append;
use super::{Backend, Db};
use crate::events::Payload;
use crate::time::now_millis;

/// Most channels a standalone append ([`EventLog::append_alone`]) writes in one
/// statement; more go through an ordinary transaction.
const ALONE_MAX_CHANNELS: usize = 64;

/// One row of the log, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub channel: String,
    pub event_type: String,
    /// Unix milliseconds.
    pub at: i64,
    /// The `data` object, JSON text.
    pub data: String,
}

/// Which channels a read covers: exact names, plus every `store:*` channel for admins.
#[derive(Clone, Debug, Default)]
pub struct ChannelSet<'a> {
    pub exact: &'a [String],
    pub all_stores: bool,
}

/// Appends one event; returns it as stored (the committer hands it to the tailer).
pub(super) async fn insert(
    conn: sql::Conn<'_>,
    channel: &str,
    event_type: &str,
    data: String,
) -> anyhow::Result<StoredEvent> {
    let at = now_millis();
    let id = sql::query("INSERT INTO events (channel, type, at, data) VALUES ($1, $2, $3, $4)")
        .bind(channel)
        .bind(event_type)
        .bind(at)
        .bind(&data)
        .insert_id(conn)
        .await
        .context("appending an event")?;
    Ok(StoredEvent {
        id,
        channel: channel.to_string(),
        event_type: event_type.to_string(),
        at,
        data,
    })
}

/// Most channels [`insert_many`] writes in one statement.
pub(super) const MANY_MAX_CHANNELS: usize = 64;

/// Appends one event per channel, all of one type and data, in one statement;
/// returns them as stored, in id order. PostgreSQL's path ([`super::Tx::emit_to`]):
/// there a statement is a round trip, while SQLite writes one row a statement
/// and reads each id without `RETURNING`.
pub(super) async fn insert_many(
    conn: sql::Conn<'_>,
    channels: &[&str],
    event_type: &str,
    data: String,
) -> anyhow::Result<Vec<StoredEvent>> {
    let at = now_millis();
    let mut sql = String::from("INSERT INTO events (channel, type, at, data) VALUES ");
    for i in 0..channels.len() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, $1, $2, $3)", i + 4);
    }
    sql.push_str(" RETURNING id, channel");
    let mut q = sql::query_built(sql).bind(event_type).bind(at).bind(&data);
    for c in channels {
        q = q.bind(*c);
    }
    let rows = q.fetch_all(conn).await.context("appending events")?;
    // RETURNING gives rows in no promised order; the tailer wants ids'.
    let mut events = rows
        .iter()
        .map(|r| {
            Ok(StoredEvent {
                id: r.try_get(0)?,
                channel: r.try_get(1)?,
                event_type: event_type.to_string(),
                at,
                data: data.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    events.sort_unstable_by_key(|e| e.id);
    Ok(events)
}

fn from_row(r: &sql::Row) -> anyhow::Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.try_get(0)?,
        channel: r.try_get(1)?,
        event_type: r.try_get(2)?,
        at: r.try_get(3)?,
        data: r.try_get(4)?,
    })
}

/// The event log of a [`Db`], borrowed from it by [`Db::log`].
#[derive(Clone, Copy)]
pub struct EventLog<'a> {
    db: &'a Db,
}

impl Db {
    /// The durable event log: standalone appends, and the reads the push core makes.
    pub fn log(&self) -> EventLog<'_> {
        EventLog { db: self }
    }
}

impl EventLog<'_> {
    /// Appends one event per channel, all of one payload, in a transaction
    /// of their own (nothing else changes with them), and returns the last id once
    /// they are durable and live here, as [`super::Tx::commit`] does. With
    /// `only_if_user`, appends nothing and returns `None` unless that user exists
    /// (checked in the same transaction).
    ///
    /// Why not `begin`, `append`, `commit`: on SQLite each of those is a round trip
    /// to the writer connection's thread, and for an announcement they were most
    /// of its cost. Here the group writer runs the append itself, as part of one
    /// `INSERT` with every append queued beside it ([`super::writer::Append`]): a
    /// burst of announcements is a statement and a commit, not one each.
    /// PostgreSQL, and more channels than one append should carry, take the
    /// ordinary path (on PostgreSQL the append lock needs the transaction anyway).
    pub async fn append_alone<P: Payload>(
        self,
        channels: &[String],
        payload: &P,
        only_if_user: Option<i64>,
    ) -> anyhow::Result<Option<i64>> {
        if channels.is_empty() {
            return Ok(None);
        }
        let data = serde_json::to_string(payload).context("serialising an event")?;
        if self.db.backend == Backend::Postgres || channels.len() > ALONE_MAX_CHANNELS {
            let mut tx = self.db.begin().await?;
            if let Some(user) = only_if_user
                && sql::query("SELECT 1 FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(tx.conn())
                    .await?
                    .is_none()
            {
                return Ok(None);
            }
            let mut last = None;
            for c in channels {
                last = Some(tx.append_text(c, P::TYPE, data.clone()).await?);
            }
            tx.commit().await?;
            return Ok(last);
        }
        let started = std::time::Instant::now();
        let Some(group) = &self.db.group else {
            anyhow::bail!("this handle has no SQLite writer");
        };
        let tailing = self.db.publication.is_tailing();
        // The writer runs it, batched with the appends queued next to it; a
        // caller that goes away leaves it to finish (nothing waits to undo it).
        let (done, appended) = tokio::sync::oneshot::channel();
        group.append(Append {
            channels: channels.to_vec(),
            event_type: P::TYPE,
            at: now_millis(),
            data,
            only_if_user,
            done,
        })?;
        let (last, ticket) = appended
            .await
            .context("the database writer stopped")?
            .map_err(|e| anyhow::anyhow!("appending events: {e}"))?;
        self.db.settle(ticket, last, tailing, started).await;
        Ok((last > 0).then_some(last))
    }

    /// Every durable event after `after` (see [`Db::durable_event`]), on any
    /// channel, oldest first, at most `limit`. The tailer feeds the hub with this.
    pub async fn after(self, after: i64, limit: usize) -> anyhow::Result<Vec<StoredEvent>> {
        let bound = match self.db.backend {
            Backend::Postgres => self.db.horizon.advance(self.db.reader()).await?,
            Backend::Sqlite => self.db.durable_event(),
        };
        let rows = sql::query(
            "SELECT id, channel, type, at, data FROM events WHERE id > $1 AND id <= $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(after)
        .bind(bound)
        .bind(limit as i64)
        .fetch_all(self.db.reader())
        .await
        .context("reading the event log")?;
        rows.iter().map(from_row).collect::<Result<_, _>>()
    }

    /// Durable events after `after` on the given channels (see
    /// [`Db::durable_event`]), oldest first, at most `limit`: a resuming reader's
    /// backlog. Anything newer reaches that reader live.
    pub async fn backlog(
        self,
        channels: &ChannelSet<'_>,
        after: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredEvent>> {
        let mut sql = String::from(
            "SELECT id, channel, type, at, data FROM events WHERE id > $1 AND id <= $3 AND (",
        );
        let mut clauses = Vec::new();
        if !channels.exact.is_empty() {
            let params: Vec<String> = (0..channels.exact.len())
                .map(|i| format!("${}", i + 4))
                .collect();
            clauses.push(format!("channel IN ({})", params.join(", ")));
        }
        if channels.all_stores {
            clauses.push("channel LIKE 'store:%'".to_string());
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&clauses.join(" OR "));
        sql.push_str(") ORDER BY id LIMIT $2");
        let mut q = sql::query_built(sql)
            .bind(after)
            .bind(limit as i64)
            .bind(self.db.durable_event());
        for c in channels.exact {
            q = q.bind(c.as_str());
        }
        let rows = q
            .fetch_all(self.db.reader())
            .await
            .context("reading a backlog")?;
        rows.iter().map(from_row).collect::<Result<_, _>>()
    }

    /// Whether PostgreSQL's publish horizon waits for appenders to finish: the
    /// tailer then reads again soon instead of at its next tick.
    pub fn horizon_pending(self) -> bool {
        self.db.backend == Backend::Postgres && self.db.horizon.is_pending()
    }

    /// The newest id in the log (0 when empty).
    pub async fn head(self) -> anyhow::Result<i64> {
        let row = sql::query("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(self.db.reader())
            .await?;
        row.try_get::<i64, _>(0)
    }

    /// The id through which events have been pruned: a cursor below it cannot resume.
    pub async fn pruned_through(self) -> anyhow::Result<i64> {
        let row = sql::query("SELECT value FROM meta WHERE key = 'events_pruned_through'")
            .fetch_optional(self.db.reader())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>(0)?.parse().unwrap_or(0),
            None => 0,
        })
    }

    /// Deletes events older than `older_than_millis` and records how far the log was
    /// cut, so that cursors below it get `stream.reset`. Returns how many were removed.
    pub async fn prune(self, older_than_millis: i64) -> anyhow::Result<u64> {
        let mut tx = self.db.begin().await?;
        let row = sql::query("SELECT COALESCE(MAX(id), 0) FROM events WHERE at < $1")
            .bind(older_than_millis)
            .fetch_one(tx.conn())
            .await?;
        let through: i64 = row.try_get(0)?;
        if through == 0 {
            return Ok(0);
        }
        let deleted = sql::query("DELETE FROM events WHERE id <= $1")
            .bind(through)
            .execute(tx.conn())
            .await?
            .rows_affected();
        sql::query(
            "INSERT INTO meta (key, value) VALUES ('events_pruned_through', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(through.to_string())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::temp_sqlite;

    /// A payload for these tests.
    #[derive(serde::Serialize)]
    struct Note {
        text: &'static str,
    }

    impl Payload for Note {
        const TYPE: &'static str = "announcement";
    }

    const HI: Note = Note { text: "hi" };

    async fn customer(db: &Db, name: &'static str) -> super::super::users::User {
        db.create_user(
            &super::super::users::NewUser {
                role: crate::auth::Role::Customer,
                login: None,
                name,
                phone: None,
                password_hash: None,
            },
            &[],
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_standalone_append_writes_one_event_per_channel_in_id_order() {
        let (_dir, db) = temp_sqlite().await;
        let channels: Vec<String> = ["user:1", "user:2", "user:3"].map(String::from).into();
        let last = db
            .log()
            .append_alone(&channels, &HI, None)
            .await
            .unwrap()
            .unwrap();
        let rows = db.log().after(0, 10).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.last().unwrap().id, last);
        for (row, channel) in rows.iter().zip(&channels) {
            assert_eq!(&row.channel, channel);
            assert_eq!(row.event_type, "announcement");
            assert_eq!(row.data, r#"{"text":"hi"}"#);
        }
        assert_eq!(db.durable_event(), last, "answered only once on disk");
        assert_eq!(db.log().append_alone(&[], &HI, None).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_append_for_a_missing_user_writes_nothing() {
        let (_dir, db) = temp_sqlite().await;
        let one = ["user:424242".to_string()];
        let many: Vec<String> = (0..ALONE_MAX_CHANNELS + 1)
            .map(|i| format!("user:{i}"))
            .collect();
        for channels in [&one[..], &many[..]] {
            let got = db.log().append_alone(channels, &HI, Some(424_242));
            assert_eq!(got.await.unwrap(), None);
        }
        assert!(db.log().after(0, 10).await.unwrap().is_empty());
        let (commits, _) = db.group_commit_counts().unwrap();
        let refused = db.log().append_alone(&one, &HI, Some(424_242));
        assert_eq!(refused.await.unwrap(), None);
        assert_eq!(
            db.group_commit_counts().unwrap().0,
            commits,
            "nothing written, nothing to sync"
        );
        let kim = customer(&db, "Kim").await;
        let got = db.log().append_alone(&one, &HI, Some(kim.id)).await;
        assert!(got.unwrap().is_some());
    }

    #[tokio::test]
    async fn concurrent_appends_share_statements_and_each_gets_its_own_rows() {
        let (_dir, db) = temp_sqlite().await;
        let kim = customer(&db, "Kim").await;
        let batches_before = db.write_batches().unwrap();
        // 200 appends at once, of one to three channels; every third names a
        // user who does not exist, and so writes nothing.
        let appends = (0..200u32).map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let channels: Vec<String> = (0..=i % 3).map(|k| format!("user:{i}-{k}")).collect();
                let user = if i % 3 == 2 { 424_242 } else { kim.id };
                let last = db
                    .log()
                    .append_alone(&channels, &HI, Some(user))
                    .await
                    .unwrap();
                (i, channels, last)
            })
        });
        let mut answered = Vec::new();
        for a in appends.collect::<Vec<_>>() {
            answered.push(a.await.unwrap());
        }
        let rows = db.log().after(0, 1000).await.unwrap();
        let mut expected = 0;
        for (i, channels, last) in answered {
            if i % 3 == 2 {
                assert_eq!(last, None, "append {i} for a missing user wrote");
                continue;
            }
            let last = last.unwrap();
            assert!(db.durable_event() >= last, "answered before it was on disk");
            // Its rows: its channels in order, consecutive ids, ending at `last`.
            let first = last - channels.len() as i64 + 1;
            let mine: Vec<&str> = rows
                .iter()
                .filter(|r| (first..=last).contains(&r.id))
                .map(|r| r.channel.as_str())
                .collect();
            assert_eq!(mine, channels, "append {i}");
            expected += channels.len();
        }
        assert_eq!(rows.len(), expected);
        assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
        let batches_after = db.write_batches().unwrap();
        // Queued together, they are committed together (at most 128 a batch).
        assert!(
            batches_after - batches_before < 50,
            "200 appends took {} batches: not batched",
            batches_after - batches_before
        );
    }

    /// Publishers that each append again as soon as they are answered, as a busy
    /// server's do: a run commits only once the WAL sync in flight has ended (a
    /// commit made during it would wait for the next sync anyway), so no sync
    /// covers two runs, and what came during a sync is one run.
    #[tokio::test]
    async fn a_run_of_appends_commits_after_the_sync_in_flight() {
        let (_dir, db) = temp_sqlite().await;
        let batches_before = db.write_batches().unwrap();
        let (_, syncs_before) = db.group_commit_counts().unwrap();
        let publishers = (0..16u32).map(|p| {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..20u32 {
                    let channels = [format!("user:{p}-{i}")];
                    let last = db.log().append_alone(&channels, &HI, None).await;
                    assert!(last.unwrap().is_some());
                }
            })
        });
        for p in publishers.collect::<Vec<_>>() {
            p.await.unwrap();
        }
        assert_eq!(db.log().after(0, 1000).await.unwrap().len(), 16 * 20);
        let batches = db.write_batches().unwrap() - batches_before;
        let syncs = db.group_commit_counts().unwrap().1 - syncs_before;
        assert!(
            syncs >= batches,
            "{batches} runs committed with {syncs} syncs: a run committed during a sync"
        );
        assert!(
            batches > 0 && batches < 16 * 20,
            "{batches} runs for 320 appends: not batched, or runs not counted"
        );
    }

    #[tokio::test]
    async fn more_channels_than_one_statement_carries_take_a_transaction() {
        let (_dir, db) = temp_sqlite().await;
        let channels: Vec<String> = (0..ALONE_MAX_CHANNELS + 5)
            .map(|i| format!("user:{i}"))
            .collect();
        let last = db.log().append_alone(&channels, &HI, None).await.unwrap();
        let rows = db.log().after(0, 1000).await.unwrap();
        assert_eq!(rows.len(), channels.len());
        assert_eq!(rows.last().map(|r| r.id), last);
    }
}
