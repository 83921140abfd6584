//! Standalone appends (announcements) on a connection of their own: rusqlite on
//! a thread of its own (see [`super::Append`]).
//!
//! Why a second connection, and why rusqlite. sqlx runs every statement on its
//! connection's worker thread and hands the answer back to the calling task: a
//! run of appends (`BEGIN`, a check that the recipients exist, the `INSERT`,
//! `COMMIT`) was four round trips between threads, and with the server on one
//! core every round trip is two context switches. A profile of announcements
//! asked at 20,000/s put a quarter of the server's time on sqlx's thread and a
//! fifth on the writer task that waited for it. Here the whole transaction runs
//! where SQLite is, with its statements prepared once and reused: one hand-over
//! to this thread and one back per run, however many appends it holds.
//!
//! Only the group writer hands work to this thread, and only between its own
//! batches (never while its connection has a transaction open), so the two
//! connections never wait on each other for SQLite's write lock. The commit is
//! counted for the WAL sync here, right after `COMMIT`, exactly as the writer
//! counts a batch of turns (the `-wal` file is the same, whoever appended to
//! it): counting it wakes the syncing thread, which had first to wait for the
//! writer's task to be scheduled again when the writer counted it.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, mpsc};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{Append, Done, Member, committed, exec};
use crate::db::{Db, StoredEvent};

/// What a run's transaction gives back: a batch member for each append that
/// wrote rows (the others were answered already), or why the run failed (every
/// append of it was told).
type Ran = Result<Vec<Member>, String>;

/// What the writer hears once a run is over: every append of it was told how it
/// went, and `Err` says why the run failed.
type Over = Result<(), String>;

/// A run of appends and whom to give the outcome.
struct Work {
    run: Vec<Append>,
    over: oneshot::Sender<Over>,
}

/// The appending connection's thread.
pub(in crate::db) struct Appender {
    work: Option<mpsc::Sender<Work>>,
    /// Told by the thread once its connection is closed.
    closed: Option<oneshot::Receiver<()>>,
}

impl Appender {
    /// Opens the database file at `path` with the pragmas every SQLite
    /// connection gets and the writer's own, and starts the thread, which
    /// counts each run's commit for `db`'s WAL sync and in `batches`.
    pub fn open(path: &Path, db: Db, batches: Arc<AtomicU64>) -> anyhow::Result<Self> {
        let conn = super::open(path)?;
        let (work, queue) = mpsc::channel();
        let (tell_closed, closed) = oneshot::channel();
        std::thread::Builder::new()
            .name("pointcast-append".into())
            .spawn(move || {
                serve(&conn, &queue, &db, &batches);
                if let Err((_, e)) = conn.close() {
                    tracing::warn!(error = %e, "closing the appending connection");
                }
                let _ = tell_closed.send(());
            })
            .context("starting the appending thread")?;
        Ok(Self {
            work: Some(work),
            closed: Some(closed),
        })
    }

    /// Appends the rows of `run` in order, in one transaction of their own,
    /// counts its commit and tells every append of it its WAL-sync ticket. An
    /// append whose recipient is gone is answered at once (it wrote nothing).
    /// On failure nothing of the run is kept and every append of it was told why.
    pub(super) async fn run(&self, run: Vec<Append>) -> Over {
        let (over, outcome) = oneshot::channel();
        let Some(work) = &self.work else {
            return Err(refuse(run, "the appending thread is closed"));
        };
        if let Err(mpsc::SendError(w)) = work.send(Work { run, over }) {
            return Err(refuse(w.run, "the appending thread has stopped"));
        }
        // The thread answers every run it took, even a failed one.
        outcome
            .await
            .unwrap_or_else(|_| Err("the appending thread has stopped".into()))
    }

    /// Closes the connection once the runs handed over are done.
    pub(super) async fn close(&mut self) {
        self.work = None;
        if let Some(closed) = self.closed.take() {
            let _ = closed.await;
        }
    }
}

fn serve(conn: &Connection, queue: &mpsc::Receiver<Work>, db: &Db, batches: &AtomicU64) {
    while let Ok(Work { run, over }) = queue.recv() {
        let ran = transaction(conn, run).map(|members| {
            if !members.is_empty() {
                committed(members, db, batches);
            }
        });
        let _ = over.send(ran);
    }
}

/// `BEGIN IMMEDIATE`, the rows, `COMMIT`; a failure rolls the run back and
/// tells each of its appends.
fn transaction(conn: &Connection, run: Vec<Append>) -> Ran {
    if let Err(e) = exec(conn, &["BEGIN IMMEDIATE"]) {
        return Err(refuse(run, &format!("starting a write batch: {e}")));
    }
    let mut members = Vec::with_capacity(run.len());
    let mut run = run.into_iter();
    while let Some(a) = run.next() {
        match append(conn, &a) {
            Ok(None) => drop(a.done.send(Ok((0, None)))),
            Ok(Some(events)) => {
                let last = events.last().map_or(0, |e| e.id);
                members.push(Member {
                    events,
                    sessions: Vec::new(),
                    done: Done::Append(a.done, last),
                });
            }
            Err(e) => {
                let why = format!("appending events: {e}");
                let _ = conn.execute_batch("ROLLBACK");
                drop(a.done.send(Err(why.clone())));
                refuse(run.collect(), &why);
                return Err(fail(members, why));
            }
        }
    }
    if let Err(e) = exec(conn, &["COMMIT"]) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(fail(members, format!("committing appends: {e}")));
    }
    Ok(members)
}

/// One append's rows, or `None` when its recipient is gone (nothing written).
fn append(conn: &Connection, a: &Append) -> rusqlite::Result<Option<Vec<StoredEvent>>> {
    if a.channels.is_empty() {
        return Ok(None);
    }
    if let Some(user) = a.only_if_user {
        let exists = conn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
            .query_row([user], |_| Ok(()))
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
    }
    let mut insert = conn
        .prepare_cached("INSERT INTO events (channel, type, at, data) VALUES (?1, ?2, ?3, ?4)")?;
    let mut events = Vec::with_capacity(a.channels.len());
    for channel in &a.channels {
        let id = insert.insert(params![channel, a.event_type, a.at, a.data])?;
        events.push(StoredEvent {
            id,
            channel: channel.clone(),
            event_type: a.event_type.to_string(),
            at: a.at,
            data: a.data.clone(),
        });
    }
    Ok(Some(events))
}

/// Tells every append of `run` that it failed; returns `why`.
fn refuse(run: Vec<Append>, why: &str) -> String {
    for a in run {
        let _ = a.done.send(Err(why.to_string()));
    }
    why.to_string()
}

/// Tells every member that the run failed; returns `why`.
fn fail(members: Vec<Member>, why: String) -> String {
    for m in members {
        m.done.send(Err(why.clone()));
    }
    why
}
