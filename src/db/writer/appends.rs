//! Runs a run of queued standalone appends as one statement on the writer's
//! connection (see [`super::Append`]).
//!
//! The rows go in with one multi-row `INSERT`: SQLite inserts them in the order
//! of its `VALUES` and gives each the next id, so sorted by id the returned rows
//! line up with the appends' rows, which is checked (channel by channel) before
//! anyone is told. A recipient that must exist is checked first, for the whole
//! run in one read inside the same transaction.

use std::collections::HashSet;
use std::fmt::Write as _;

use sqlx::{AnyConnection, Row};

use super::{Append, Done, Member};
use crate::db::StoredEvent;

/// Most rows one statement carries (four parameters each: well inside SQLite's
/// limit of 32,766 parameters).
const MAX_ROWS: usize = 2048;

/// Appends the rows of `run` in order and returns a batch member for each append
/// that wrote rows; an append whose recipient is gone is answered at once (it
/// wrote nothing). An error leaves the rows of this run in an unknown state: the
/// caller fails and rolls back the whole batch.
pub(super) async fn run(conn: &mut AnyConnection, run: Vec<Append>) -> Result<Vec<Member>, String> {
    let existing = recipients(conn, &run).await?;
    let mut members = Vec::with_capacity(run.len());
    let mut chunk: Vec<Append> = Vec::new();
    let mut rows = 0;
    for a in run {
        if a.channels.is_empty() || a.only_if_user.is_some_and(|u| !existing.contains(&u)) {
            let _ = a.done.send(Ok((0, None)));
            continue;
        }
        if rows + a.channels.len() > MAX_ROWS && !chunk.is_empty() {
            members.extend(insert(conn, std::mem::take(&mut chunk)).await?);
            rows = 0;
        }
        rows += a.channels.len();
        chunk.push(a);
    }
    if !chunk.is_empty() {
        members.extend(insert(conn, chunk).await?);
    }
    Ok(members)
}

/// The users among the run's required recipients that exist.
async fn recipients(conn: &mut AnyConnection, run: &[Append]) -> Result<HashSet<i64>, String> {
    let wanted: HashSet<i64> = run.iter().filter_map(|a| a.only_if_user).collect();
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sql = String::from("SELECT id FROM users WHERE id IN (");
    for i in 0..wanted.len() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}${}", i + 1);
    }
    sql.push(')');
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for u in &wanted {
        q = q.bind(*u);
    }
    let rows = q
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("checking recipients: {e}"))?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("checking recipients: {e}"))
}

/// One `INSERT` of every row of `chunk`, in order.
async fn insert(conn: &mut AnyConnection, chunk: Vec<Append>) -> Result<Vec<Member>, String> {
    let mut sql = String::from("INSERT INTO events (channel, type, at, data) VALUES ");
    let mut n = 0;
    for a in &chunk {
        for _ in &a.channels {
            let sep = if n == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4);
            n += 4;
        }
    }
    sql.push_str(" RETURNING id, channel");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for a in &chunk {
        for c in &a.channels {
            q = q
                .bind(c.as_str())
                .bind(a.event_type)
                .bind(a.at)
                .bind(a.data.as_str());
        }
    }
    let rows = q
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("appending events: {e}"))?;
    let mut ids = rows
        .iter()
        .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| format!("appending events: {e}"))?;
    // RETURNING promises no order; ids follow the VALUES order.
    ids.sort_unstable_by_key(|(id, _)| *id);
    let mut ids = ids.into_iter();
    let mut members = Vec::with_capacity(chunk.len());
    for a in chunk {
        let mut events = Vec::with_capacity(a.channels.len());
        for channel in a.channels {
            match ids.next() {
                Some((id, c)) if c == channel => events.push(StoredEvent {
                    id,
                    channel,
                    event_type: a.event_type.to_string(),
                    at: a.at,
                    data: a.data.clone(),
                }),
                _ => return Err("appended rows do not line up with the appends".into()),
            }
        }
        let last = events.last().map_or(0, |e| e.id);
        members.push(Member {
            events,
            sessions: Vec::new(),
            done: Done::Append(a.done, last),
        });
    }
    if ids.next().is_some() {
        return Err("more rows appended than asked".into());
    }
    Ok(members)
}
