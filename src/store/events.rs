//! The durable event log: append inside a caller's transaction, read in id order.

use anyhow::Context;
use sqlx::{AnyConnection, Row};

use super::{Db, now_millis};

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
    conn: &mut AnyConnection,
    channel: &str,
    event_type: &str,
    data: &serde_json::Value,
) -> anyhow::Result<StoredEvent> {
    let at = now_millis();
    let data = data.to_string();
    let row = sqlx::query(
        "INSERT INTO events (channel, type, at, data) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(channel)
    .bind(event_type)
    .bind(at)
    .bind(&data)
    .fetch_one(&mut *conn)
    .await
    .context("appending an event")?;
    Ok(StoredEvent {
        id: row.try_get(0)?,
        channel: channel.to_string(),
        event_type: event_type.to_string(),
        at,
        data,
    })
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        id: r.try_get(0)?,
        channel: r.try_get(1)?,
        event_type: r.try_get(2)?,
        at: r.try_get(3)?,
        data: r.try_get(4)?,
    })
}

impl Db {
    /// Every durable event after `after` (see [`Db::durable_event`]), on any
    /// channel, oldest first, at most `limit`. The tailer feeds the hub with this.
    pub async fn events_after(&self, after: i64, limit: usize) -> anyhow::Result<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT id, channel, type, at, data FROM events WHERE id > $1 AND id <= $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(after)
        .bind(self.durable_event())
        .bind(limit as i64)
        .fetch_all(self.reader())
        .await
        .context("reading the event log")?;
        rows.iter()
            .map(from_row)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Durable events after `after` on the given channels (see
    /// [`Db::durable_event`]), oldest first, at most `limit`: a resuming reader's
    /// backlog. Anything newer reaches that reader live.
    pub async fn events_for(
        &self,
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
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit as i64)
            .bind(self.durable_event());
        for c in channels.exact {
            q = q.bind(c.as_str());
        }
        let rows = q
            .fetch_all(self.reader())
            .await
            .context("reading a backlog")?;
        rows.iter()
            .map(from_row)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// The newest id in the log (0 when empty).
    pub async fn max_event_id(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// The id through which events have been pruned: a cursor below it cannot resume.
    pub async fn pruned_through(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = 'events_pruned_through'")
            .fetch_optional(self.reader())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>(0)?.parse().unwrap_or(0),
            None => 0,
        })
    }

    /// Deletes events older than `older_than_millis` and records how far the log was
    /// cut, so that cursors below it get `stream.reset`. Returns how many were removed.
    pub async fn prune_events(&self, older_than_millis: i64) -> anyhow::Result<u64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events WHERE at < $1")
            .bind(older_than_millis)
            .fetch_one(tx.conn())
            .await?;
        let through: i64 = row.try_get(0)?;
        if through == 0 {
            return Ok(0);
        }
        let deleted = sqlx::query("DELETE FROM events WHERE id <= $1")
            .bind(through)
            .execute(tx.conn())
            .await?
            .rows_affected();
        sqlx::query(
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
