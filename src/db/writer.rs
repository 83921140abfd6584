//! SQLite's group-commit writer: one task owns the write connection and commits
//! the work of many requests as one transaction.
//!
//! Before this, each request's transaction was its own `BEGIN` ... `COMMIT` on a
//! pool of one connection: every commit appended its own WAL frames (the same
//! hot pages written again and again) and paid its own round trips for `BEGIN`
//! and `COMMIT`. Now a request asks for a [`Seat`]: its turn on the one
//! connection, inside the writer's open transaction and under a `SAVEPOINT` of
//! its own (except the transaction's first turn, whose undo is a `ROLLBACK`).
//! It runs its statements (through `Tx::conn` and `db::sql`), then
//! hands the connection back saying keep (its savepoint is released into the
//! batch) or undo (`ROLLBACK TO` its savepoint: only its own part goes). When no
//! request is waiting for a turn, or [`MAX_TURNS`] have had one, the writer
//! `COMMIT`s once, counts the batch as one commit for the WAL sync
//! (`db::durable`), and tells every member; each then waits for the sync that
//! covers its batch and for its events to be live, as before.
//!
//! What stays true: a request is answered only after its batch is committed and
//! synced; ids are taken on one connection in turn order, so the batch's events
//! are in id order and handed over in one piece; a request that fails rolls back
//! its own part only; a batch whose `COMMIT` fails fails every member (none of
//! them was answered yet).
//!
//! Standalone appends (announcements) take no seat: the writer hands every
//! append queued next to another, as one transaction, to a connection of their
//! own (rusqlite on a thread of its own, `appends.rs`), between its batches of
//! turns, so the two connections never wait on each other for the write lock.
//! A run of appends starts once the WAL sync in flight has ended ([`appends`]).
//!
//! The connection is rusqlite's and the seat carries it to the requesting
//! task, which runs its statements there and then: no statement waits for
//! another thread (sqlx ran each on its connection's worker thread and handed
//! the answer back, two context switches per statement). The writer's own
//! statements (`BEGIN`, the savepoints, `COMMIT`) are short and run on its task;
//! `COMMIT` writes the batch's pages to the WAL (and now and then SQLite's
//! automatic checkpoint runs in it), which is what it did on sqlx's thread too.
//! See docs/architecture.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{Db, StoredEvent};

mod appends;

pub(super) use appends::Appender;

/// Most appends run as one transaction: a bound on how long the first member of
/// a run waits for the others.
const MAX_BATCH: usize = 128;

/// Most turns committed in one transaction. Smaller than the requests a busy
/// server has in flight, so that the writer can run the next batch while the
/// last one's WAL sync is under way, rather than take every waiting request into
/// one batch (128, as for appends, did). Grants asked 10,000/s on SQLite, 32 publishers
/// (docs/performance.md, round two, thirteenth part), five pairs, 128 against 16:
/// 2,275 / 2,099 / 2,537 / 2,302 / 1,969 against 2,766 / 2,494 / 2,529 / 2,964 /
/// 2,397 grants/s; single runs at 4 (1,984, 2,139), 8 (2,308) and 32 (2,028).
const MAX_TURNS: usize = 16;

/// Longest a request waits for its turn on the connection (a request that holds
/// a transaction and begins another would otherwise wait for ever).
const TURN_WAIT: Duration = Duration::from_secs(30);

/// What a batch member hears once the batch is committed: the WAL-sync ticket to
/// wait for, or why the batch failed.
type Committed = Result<Option<u64>, String>;

/// What the holder of a seat tells the writer when it gives the connection back.
pub(super) enum Finish {
    /// Keep the work: commit it with the batch, hand `events` on, forget the
    /// sessions of `sessions`, and tell `done`.
    Commit {
        events: Vec<StoredEvent>,
        sessions: Vec<i64>,
        done: oneshot::Sender<Committed>,
    },
    /// Undo the work (refused, failed, or dropped).
    Rollback,
}

struct Returned {
    conn: Connection,
    finish: Finish,
}

/// A request's turn on the write connection. Dropping it gives the connection
/// back with [`Finish::Rollback`].
pub struct Seat {
    held: Option<(Connection, oneshot::Sender<Returned>)>,
}

impl Seat {
    pub(super) fn conn(&mut self) -> &mut Connection {
        match &mut self.held {
            Some((conn, _)) => conn,
            // `held` is taken only by `finish`, which consumes the seat.
            None => unreachable!("a seat holds its connection until finished"),
        }
    }

    /// Gives the connection back.
    pub(super) fn finish(mut self, finish: Finish) {
        if let Some((conn, back)) = self.held.take() {
            let _ = back.send(Returned { conn, finish });
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Some((conn, back)) = self.held.take() {
            let _ = back.send(Returned {
                conn,
                finish: Finish::Rollback,
            });
        }
    }
}

/// A request waiting for its [`Seat`].
type Turn = oneshot::Sender<anyhow::Result<Seat>>;

/// A standalone append ([`super::EventLog::append_alone`]): rows of one payload
/// on some channels. The writer runs it with every other append queued next to
/// it, in one transaction on the appending connection (`appends.rs`).
pub(super) struct Append {
    pub channels: Vec<String>,
    pub event_type: &'static str,
    pub at: i64,
    pub data: String,
    /// Append nothing unless this user exists.
    pub only_if_user: Option<i64>,
    pub done: oneshot::Sender<Appended>,
}

/// What an append's requester hears: the last id it appended (0 when it
/// appended nothing, its user being gone) and the WAL-sync ticket to wait for.
pub(super) type Appended = Result<(i64, Option<u64>), String>;

enum Job {
    Turn(Turn),
    Append(Append),
    Close(oneshot::Sender<()>),
}

/// Handle to the writer task.
pub(super) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    /// Batches committed so far.
    batches: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer on `conn`, and the appending connection's thread for
    /// standalone appends, both on the database file at `path`; `db` (a handle
    /// without a writer of its own) counts each batch's commit for the WAL sync
    /// and hands its events on.
    pub fn start(conn: Connection, path: PathBuf, db: Db) -> anyhow::Result<Self> {
        let (jobs, rx) = mpsc::unbounded_channel();
        let batches = Arc::new(AtomicU64::new(0));
        let appender = Appender::open(&path, db.clone(), Arc::clone(&batches))?;
        tokio::spawn(run(conn, appender, path, rx, db, Arc::clone(&batches)));
        Ok(Self { jobs, batches })
    }

    /// Batches committed so far.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Waits for a turn on the connection, inside the writer's transaction and
    /// under a savepoint of its own (or first in the transaction).
    pub async fn seat(&self) -> anyhow::Result<Seat> {
        let (seat, rx) = oneshot::channel();
        self.jobs
            .send(Job::Turn(seat))
            .map_err(|_| anyhow!("the database writer has stopped"))?;
        tokio::time::timeout(TURN_WAIT, rx)
            .await
            .context("waiting for the database writer")?
            .context("the database writer has stopped")?
    }

    /// Queues a standalone append; its answer comes on `append.done`.
    pub fn append(&self, append: Append) -> anyhow::Result<()> {
        self.jobs
            .send(Job::Append(append))
            .map_err(|_| anyhow!("the database writer has stopped"))
    }

    /// Commits what is queued, then closes the connection.
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(
    mut conn: Connection,
    mut appender: Appender,
    path: PathBuf,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    db: Db,
    batches: Arc<AtomicU64>,
) {
    let mut carried = None;
    loop {
        let job = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let next = match job {
            Job::Close(done) => {
                if let Err((_, e)) = conn.close() {
                    tracing::warn!(error = %e, "closing the write connection");
                }
                appender.close().await;
                let _ = done.send(());
                return;
            }
            Job::Append(first) => appends(first, &appender, &mut jobs, &db).await,
            Job::Turn(turn) => {
                let (back, next) = batch(conn, turn, &mut jobs, &db, &batches).await;
                conn = match back {
                    Some(c) => c,
                    // A seat was lost with the connection in it (it cannot be
                    // dropped without giving it back, so this is a leak): open
                    // another.
                    None => match open(&path) {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::error!(error = ?e, "the SQLite writer cannot reopen its connection");
                            return;
                        }
                    },
                };
                next
            }
        };
        carried = next;
    }
    appender.close().await;
}

/// Once the WAL sync in flight (if any) has ended, runs `first` and every
/// append queued behind it (up to [`MAX_BATCH`]) as one transaction on the
/// appending connection, whose thread counts its commit. Another kind of job,
/// queued or arriving, ends the wait and the run.
/// Returns the job that ended the run, if one did.
async fn appends(
    first: Append,
    appender: &Appender,
    jobs: &mut mpsc::UnboundedReceiver<Job>,
    db: &Db,
) -> Option<Job> {
    let mut run = vec![first];
    let mut next = queued(&mut run, jobs);
    if next.is_none() {
        next = during_sync(&mut run, jobs, db).await;
    }
    // The appending thread counts the run's commit and tells its appends.
    if let Err(why) = appender.run(run).await {
        // Every append of the run was told.
        tracing::error!(error = why, "a run of appends failed");
    }
    next
}

/// Adds the appends queued now to `run` (up to [`MAX_BATCH`]); returns the job
/// that stopped it, if another kind did.
fn queued(run: &mut Vec<Append>, jobs: &mut mpsc::UnboundedReceiver<Job>) -> Option<Job> {
    while run.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(Job::Append(a)) => run.push(a),
            Ok(other) => return Some(other),
            Err(_) => break,
        }
    }
    None
}

/// Waits for the WAL sync in flight, if any, to end, adding the appends that
/// come meanwhile to `run`.
///
/// A commit made while a sync runs waits for the next sync, which starts only
/// when this one ends: so commit then, with every append that came meanwhile.
/// One commit a sync instead of about two (each with its WAL frames, `pwrite`s
/// and locks); what it costs an append that comes during a sync is its commit's
/// time after that sync, which it waited for anyway. Announcements asked
/// 20,000/s: 28,851 -> 11,880 commits, CPU per announcement 172, 158, 162 ->
/// 130, 144, 138 µs (docs/performance.md, fourteenth part).
///
/// Any other job ends the wait at once (and is returned): a turn held here
/// would commit after the run, likely into the sync after next, where at once
/// it would have been in the next. So does a full run.
async fn during_sync(
    run: &mut Vec<Append>,
    jobs: &mut mpsc::UnboundedReceiver<Job>,
    db: &Db,
) -> Option<Job> {
    let synced = db.synced_so_far();
    tokio::pin!(synced);
    while run.len() < MAX_BATCH {
        tokio::select! {
            biased;
            () = &mut synced => return queued(run, jobs),
            job = jobs.recv() => match job {
                Some(Job::Append(a)) => {
                    run.push(a);
                    if let Some(other) = queued(run, jobs) {
                        return Some(other);
                    }
                }
                // A turn or a close; or `None`, every handle gone: commit now.
                other => return other,
            },
        }
    }
    None
}

/// What the write connection runs after every connection's pragmas.
/// temp_store=MEMORY keeps the savepoint journal in memory: every turn but a
/// transaction's first runs under a savepoint, SQLite journals each page a
/// savepoint (or a statement inside a transaction) first touches, and past
/// 64 KiB a batch's journal spilled to a temporary file, whose `pwrite`s were a
/// tenth of the server's time during grants. Only here: a reader's large sort
/// should still spill to a file rather than grow the heap.
const WRITER_PRAGMAS: &str = "PRAGMA temp_store=MEMORY;";

/// WAL pages after which a writing connection's commit checkpoints the WAL
/// (SQLite's `wal_autocheckpoint`, 1,000 by default). A checkpoint copies each
/// page once however many frames it has in the WAL, and a grant's commits write
/// the same hot pages (index leaves, balances, the idempotency records) again
/// and again, so checkpointing a quarter as often copies far fewer pages in all
/// and pays its `fsync`s a quarter as often. In a profile of grants at 5,000/s
/// the checkpoint was a fifth of the writer's thread (docs/performance.md, round
/// two, sixteenth part); nine pairs at 5,000 grants/s asked, 1,000 against 4,000
/// pages: 3,889/4,030, 2,720/3,672, 3,343/4,662, 3,432/3,690, 4,069/4,714,
/// 4,662/4,366, 4,332/4,723, 3,756/4,790, 4,462/4,595 grants/s; 8,000 pages
/// measured no better than 4,000. The WAL file then grows to about 16 MB (not
/// 4 MB) and is reused from its start after each checkpoint, as before.
const WAL_CHECKPOINT_PAGES: u32 = 4_000;

/// Statements each writing connection keeps prepared: every distinct statement
/// of the write flows, with room to spare (rusqlite's default is 16, fewer than
/// one grant runs).
const PREPARED_STATEMENTS: usize = 512;

/// Opens a writing connection (the group writer's or the appending one) with
/// the pragmas every SQLite connection gets and the writer's own.
pub(super) fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("opening SQLite database {}", path.display()))?;
    conn.execute_batch(super::SQLITE_PRAGMAS)
        .and_then(|()| conn.execute_batch(WRITER_PRAGMAS))
        .and_then(|()| conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES))
        .context("setting a writing connection's pragmas")?;
    conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
    Ok(conn)
}

/// Runs `statements` (no parameters) in order, each prepared once for the
/// connection's life: the writer runs the same few for every turn.
pub(super) fn exec(conn: &Connection, statements: &[&str]) -> rusqlite::Result<()> {
    for sql in statements {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}

/// A member of the batch being built.
struct Member {
    events: Vec<StoredEvent>,
    sessions: Vec<i64>,
    done: Done,
}

/// Whom a member tells how the batch ended.
enum Done {
    Turn(oneshot::Sender<Committed>),
    /// An append, with the last id it appended.
    Append(oneshot::Sender<Appended>, i64),
}

impl Done {
    fn send(self, committed: Committed) {
        match self {
            Done::Turn(tx) => drop(tx.send(committed)),
            Done::Append(tx, last) => drop(tx.send(committed.map(|ticket| (last, ticket)))),
        }
    }
}

/// Serves turns, starting with `first`, in one transaction until nobody waits
/// for one (or [`MAX_TURNS`]), then commits. An append or a close request ends
/// the batch (appends run on their own connection, which must not wait for this
/// one's write lock) and is returned, with the connection (unless a seat lost it).
async fn batch(
    conn: Connection,
    first: Turn,
    jobs: &mut mpsc::UnboundedReceiver<Job>,
    db: &Db,
    batches: &AtomicU64,
) -> (Option<Connection>, Option<Job>) {
    let mut conn = conn;
    let mut members: Vec<Member> = Vec::new();
    let mut begun = false;
    // A kept member's savepoint is still open (released lazily, together with
    // the next member's `SAVEPOINT`, to save a round trip; `COMMIT` ends it too).
    let mut open_savepoint = false;
    let mut failure: Option<String> = None;
    let mut carried = None;
    let mut next = Some(first);
    let mut served = 0;
    while let Some(turn) = next.take() {
        served += 1;
        // The transaction's first turn runs under no savepoint: the
        // transaction holds nothing else, so undoing it is a `ROLLBACK`. That
        // is two statements fewer (`SAVEPOINT`, `RELEASE`), and no page of it
        // copied into a savepoint journal (SQLite copies each page a savepoint
        // first touches); at the rates people run, most batches are one turn.
        let bare = !begun;
        let prepare: &[&str] = match (begun, open_savepoint) {
            (false, _) => &["BEGIN IMMEDIATE"],
            (true, true) => &["RELEASE w", "SAVEPOINT w"],
            (true, false) => &["SAVEPOINT w"],
        };
        if let Err(e) = exec(&conn, prepare) {
            let e = anyhow::Error::from(e).context("starting a write turn");
            let _ = turn.send(Err(anyhow!("{e:#}")));
            failure = Some(format!("{e:#}"));
            break;
        }
        begun = true;
        open_savepoint = !bare;
        let (back, returned) = oneshot::channel();
        let seat = Seat {
            held: Some((conn, back)),
        };
        // A requester that gave up: the seat comes back at once (dropped inside
        // the failed send, or with the receiver), as a rollback.
        drop(turn.send(Ok(seat)));
        let Ok(Returned { conn: c, finish }) = returned.await else {
            fail(members, "the write connection was lost");
            return (None, carried);
        };
        conn = c;
        match finish {
            Finish::Commit {
                events,
                sessions,
                done,
            } => members.push(Member {
                events,
                sessions,
                done: Done::Turn(done),
            }),
            Finish::Rollback => {
                open_savepoint = false;
                // A bare turn was the whole transaction: the next turn begins anew.
                let undo: &[&str] = if bare {
                    &["ROLLBACK"]
                } else {
                    &["ROLLBACK TO w", "RELEASE w"]
                };
                if let Err(e) = exec(&conn, undo) {
                    failure = Some(format!("rolling back a request's part: {e}"));
                    break;
                }
                begun = !bare;
            }
        }
        if served < MAX_TURNS {
            match jobs.try_recv() {
                Ok(Job::Turn(turn)) => next = Some(turn),
                Ok(other) => carried = Some(other),
                Err(_) => {}
            }
        }
    }
    if !begun {
        return (Some(conn), carried);
    }
    if members.is_empty() && failure.is_none() {
        // Every turn was undone or wrote nothing: nothing to commit or sync.
        let _ = exec(&conn, &["ROLLBACK"]);
        return (Some(conn), carried);
    }
    if let Some(why) = failure {
        let _ = exec(&conn, &["ROLLBACK"]);
        fail(members, &why);
        return (Some(conn), carried);
    }
    if let Err(e) = exec(&conn, &["COMMIT"]) {
        let _ = exec(&conn, &["ROLLBACK"]);
        fail(members, &format!("committing: {e}"));
        return (Some(conn), carried);
    }
    committed(members, db, batches);
    (Some(conn), carried)
}

/// After a batch's `COMMIT`: one commit for the WAL sync, whose events are every
/// member's in turn order, which is id order; then every member is told.
fn committed(members: Vec<Member>, db: &Db, batches: &AtomicU64) {
    let tailing = db.publication.is_tailing();
    let mut events = Vec::new();
    let mut dones = Vec::with_capacity(members.len());
    for m in members {
        events.extend(m.events);
        for user in m.sessions {
            db.sessions.forget_user(user);
        }
        dones.push(m.done);
    }
    // Counted per transaction (what `/metrics` calls commits), synced once.
    let ticket = db.count_commit(dones.len() as u64, events, tailing);
    batches.fetch_add(1, Ordering::Relaxed);
    for done in dones {
        done.send(Ok(ticket));
    }
}

fn fail(members: Vec<Member>, why: &str) {
    tracing::error!(
        error = why,
        members = members.len(),
        "a SQLite write batch failed"
    );
    for m in members {
        m.done.send(Err(why.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use crate::db::{Db, Tx, sql, temp_sqlite};

    async fn put(tx: &mut Tx, key: &str) {
        sql::query("INSERT INTO meta (key, value) VALUES ($1, 'v')")
            .bind(key.to_string())
            .execute(tx.conn())
            .await
            .unwrap();
    }

    async fn keys(db: &Db) -> Vec<String> {
        sqlx::query_scalar("SELECT key FROM meta WHERE key LIKE 'turn-%' ORDER BY key")
            .fetch_all(db.reader())
            .await
            .unwrap()
    }

    /// A turn that begins, writes `key` and then commits or (dropped) rolls back,
    /// started now so that it queues behind the turn being served.
    fn queue(db: &Db, key: &'static str, keep: bool) -> tokio::task::JoinHandle<()> {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            put(&mut tx, key).await;
            if keep {
                tx.commit().await.unwrap();
            }
        })
    }

    /// Lets the queued turns' tasks ask for their turn (this test runtime has
    /// one thread: each asks in its first poll).
    async fn let_them_queue() {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    /// The writing connections checkpoint the WAL at [`super::WAL_CHECKPOINT_PAGES`],
    /// not at SQLite's 1,000 pages, and the WAL is still restarted from its start
    /// after each checkpoint rather than growing for ever.
    #[tokio::test]
    async fn the_wal_is_checkpointed_at_its_own_size_and_restarted() {
        const FRAME: u64 = 24 + 4096; // a frame's header and a page of the default size
        let (dir, db) = temp_sqlite().await;
        let wal = dir.path().join("x.db-wal");
        // About 33 pages a commit: 300 commits write some 10,000 frames.
        let big = "x".repeat(128 * 1024);
        let mut largest = 0;
        for i in 0..300 {
            let mut tx = db.begin().await.unwrap();
            sql::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
                .bind(format!("big-{i}"))
                .bind(big.clone())
                .execute(tx.conn())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        let frames = largest / FRAME;
        let limit = u64::from(super::WAL_CHECKPOINT_PAGES);
        assert!(
            frames > 2 * 1_000,
            "the WAL held at most {frames} frames: checkpointed at SQLite's default"
        );
        assert!(
            frames < limit + 100,
            "the WAL grew to {frames} frames: not checkpointed and restarted at {limit}"
        );
    }

    /// The transaction's first turn runs under no savepoint; kept, it stays
    /// when the next turn of its batch is undone, and the turn after that
    /// (under a savepoint again) is kept too: one batch, one commit.
    #[tokio::test]
    async fn a_kept_first_turn_survives_an_undone_second_in_its_batch() {
        let (_dir, db) = temp_sqlite().await;
        let before = db.write_batches().unwrap();
        let mut first = db.begin().await.unwrap();
        put(&mut first, "turn-1").await;
        let second = queue(&db, "turn-2", false);
        let third = queue(&db, "turn-3", true);
        let_them_queue().await;
        first.commit().await.unwrap();
        second.await.unwrap();
        third.await.unwrap();
        assert_eq!(keys(&db).await, ["turn-1", "turn-3"]);
        assert_eq!(db.write_batches().unwrap() - before, 1);
    }

    /// An undone first turn was the whole transaction: it goes, and the turns
    /// queued behind it begin a transaction of their own and keep their work.
    #[tokio::test]
    async fn an_undone_first_turn_leaves_the_turns_queued_behind_it() {
        let (_dir, db) = temp_sqlite().await;
        let mut first = db.begin().await.unwrap();
        put(&mut first, "turn-1").await;
        let second = queue(&db, "turn-2", true);
        let third = queue(&db, "turn-3", false);
        let fourth = queue(&db, "turn-4", true);
        let_them_queue().await;
        drop(first);
        for t in [second, third, fourth] {
            t.await.unwrap();
        }
        assert_eq!(keys(&db).await, ["turn-2", "turn-4"]);
        // And the writer serves on.
        let mut again = db.begin().await.unwrap();
        put(&mut again, "turn-5").await;
        again.commit().await.unwrap();
        assert_eq!(keys(&db).await, ["turn-2", "turn-4", "turn-5"]);
    }
}
