//! Storage: one interface over SQLite (embedded default) and PostgreSQL.
//!
//! Both backends speak the same SQL text through `sqlx::Any` (`$1` placeholders work
//! on both), so domain code never knows which one it runs on. The few places where
//! the backends differ (the writer pool, serialising event appends, waking other
//! instances) live here and nowhere else.
//!
//! Invariants that money depends on live in the per-area modules below, which every
//! caller goes through.
//!
//! This file is the handle itself: the pools, [`Tx`] (append typed events, commit),
//! and what a commit does afterwards: wait for SQLite's group sync ([`durable`]),
//! hand its events to this instance's tailer and wait until they are live, through
//! the [`Publication`] made at start-up. The event log's reads and writes are
//! [`events::EventLog`] (`db.log()`); the session cache is [`session_cache`].

pub mod api_keys;
pub mod audit;
pub mod coupons;
mod durable;
pub mod events;
pub mod grant_days;
pub mod history;
mod horizon;
pub mod idempotency;
pub mod jobs;
mod known;
pub mod ledger;
pub mod members;
mod migrate;
pub mod outbox;
pub mod session_cache;
pub mod shop;
pub mod sql;
pub mod stores;
pub mod support;
pub mod tickets;
pub mod topics;
pub mod users;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Executor};

use crate::events::Payload;
use crate::events::publication::Publication;
use crate::metrics::{Histogram, LATENCY_BOUNDS};

pub use events::{EventLog, StoredEvent};
use session_cache::SessionCache;

/// Which database a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Channel that PostgreSQL instances `NOTIFY` after committing events.
pub const NOTIFY_CHANNEL: &str = "pointcast_events";

/// Channel that PostgreSQL instances `NOTIFY` with a user id after ending that
/// user's sessions or renaming them, so every instance's session cache forgets them.
pub const SESSIONS_CHANNEL: &str = "pointcast_sessions";

/// Longest a commit waits for its events to be published locally.
const PUBLISH_WAIT: Duration = Duration::from_secs(2);

use horizon::APPEND_LOCK_KEY;

/// Handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// Reads. On SQLite several connections read the WAL concurrently.
    reader: AnyPool,
    /// Writes on PostgreSQL (the same pool as `reader`). On SQLite a pool of one
    /// connection that runs the migrations and is then closed: [`Db::group`]
    /// owns the write connection from then on.
    writer: AnyPool,
    /// SQLite's group-commit writer ([`writer`]): one connection, many requests'
    /// work per transaction. `None` on PostgreSQL (and in the writer's own handle).
    group: Option<Arc<writer::Writer>>,
    backend: Backend,
    url: Arc<str>,
    /// SQLite's group commit (none for PostgreSQL, whose `COMMIT` is durable, and
    /// for an in-memory database).
    wal_sync: Option<Arc<durable::WalSync>>,
    /// The hand-over to this instance's tailer: commits give it their events and
    /// wait on it until they are live.
    publication: Arc<Publication>,
    /// PostgreSQL: wakes the task that tells other instances (`NOTIFY`) that
    /// events were committed here. Not a `NOTIFY` inside each appending
    /// transaction: PostgreSQL commits notifying transactions one at a time
    /// (each holds the notification queue's lock through its WAL flush), which
    /// undid group commit. One `NOTIFY` after a run of commits wakes the others
    /// as well; a lost one is made up for by their tailers' periodic read.
    others: Option<Arc<tokio::sync::Notify>>,
    /// The payload of this instance's `NOTIFY`s, random per connect, so that
    /// its own listener can tell them from other instances' and ignore them.
    instance_tag: Arc<str>,
    /// PostgreSQL's publish horizon: how far readers may read the log.
    horizon: Arc<horizon::Horizon>,
    /// Found sessions, so a request need not read its token's row each time.
    sessions: Arc<SessionCache>,
    /// Stores and staff seen once (never deleted, so true for good).
    known: Arc<known::Known>,
    /// Write transaction timings, for `/metrics`.
    pub stats: Arc<DbStats>,
}

/// How long write transactions take, begin to commit (including the wait for
/// SQLite's single writer or PostgreSQL's append lock).
pub struct DbStats {
    pub transactions: Histogram,
}

/// Connections an instance keeps to its database unless `--database-pool` says
/// otherwise: on PostgreSQL the whole pool (reads and write transactions), on
/// SQLite the readers beside the one writer.
///
/// Eight, not more, because a database runs only as many statements at once as it
/// has cores, and connections beyond that queue inside it at a higher price: grants
/// on PostgreSQL on this project's two-core machine, asked 5,000/s, reached 721-957/s
/// with 32 connections and 919-1,156/s with 8, in each of three pairs, with a lower
/// p99 and no more server CPU a grant (docs/performance.md, round two, thirteenth
/// part). Raise it for a database with many cores; several instances share the
/// database's `max_connections`.
pub const DEFAULT_POOL: u32 = 8;

impl Db {
    /// Connects to `url` (`sqlite://file` or `postgres://...`) and applies migrations,
    /// for a process that publishes nothing itself (tools, tests); the server uses
    /// [`Db::connect_with`].
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, DEFAULT_POOL, Arc::default()).await
    }

    /// Connects like [`Db::connect`] with `pool` connections ([`DEFAULT_POOL`]),
    /// handing committed events to `publication`, which this instance's tailer takes
    /// them from.
    pub async fn connect_with(
        url: &str,
        pool: u32,
        publication: Arc<Publication>,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let pool = pool.max(1);
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                let writer = sqlite_pool(&url, 1).await?;
                // Creating the file and switching to WAL happens on the writer first.
                let reader = sqlite_pool(&url, pool).await?;
                (reader, writer)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(pool)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(&url)
                    .await
                    .context("connecting to PostgreSQL")?;
                (pool.clone(), pool)
            }
        };
        let mut db = Self {
            reader,
            writer,
            backend,
            url: url.into(),
            group: None,
            wal_sync: None,
            publication,
            horizon: Arc::default(),
            others: None,
            instance_tag: format!("{:016x}", rand::random::<u64>()).into(),
            sessions: Arc::default(),
            known: Arc::default(),
            stats: Arc::new(DbStats {
                transactions: Histogram::new(LATENCY_BOUNDS),
            }),
        };
        migrate::run(&db).await.context("applying migrations")?;
        if backend == Backend::Sqlite
            && let Some(path) = durable::sqlite_path(&db.url)
        {
            let head = db.log().head().await?;
            let sync = durable::WalSync::new(path, head, Arc::clone(&db.publication));
            durable::WalSync::start(&sync).context("starting the WAL sync thread")?;
            db.wal_sync = Some(sync);
        }
        if backend == Backend::Postgres {
            // Backlog reads stop at the publish horizon, which only the tailer
            // moved: a read served before its first pass (a poll with
            // `timeout=0` right after a restart) found an empty log. Read it
            // once before anything is served.
            db.horizon
                .advance(&db.reader)
                .await
                .context("reading the publish horizon")?;
            let others = Arc::new(tokio::sync::Notify::new());
            tokio::spawn(tell_others(
                db.writer.clone(),
                Arc::clone(&db.instance_tag),
                Arc::clone(&others),
            ));
            db.others = Some(others);
        }
        if backend == Backend::Sqlite {
            // From here on one connection writes, owned by the group writer.
            db.writer.close().await;
            // `normalise_url` refused any SQLite URL without a file.
            let path = durable::sqlite_path(&db.url).context("SQLite must be a file")?;
            let conn = writer::open(&path)?;
            let group = writer::Writer::start(conn, path, db.clone())?;
            db.group = Some(Arc::new(group));
        }
        Ok(db)
    }

    /// What this instance's event `NOTIFY`s carry (PostgreSQL), for its own
    /// listener to know them.
    pub fn instance_tag(&self) -> &str {
        &self.instance_tag
    }

    /// SQLite's group-commit writer's batches so far (transactions committed
    /// together as one); `None` elsewhere.
    pub fn write_batches(&self) -> Option<u64> {
        self.group.as_ref().map(|g| g.batches())
    }

    /// Waits until SQLite's WAL sync has covered every commit counted so far (at
    /// once on PostgreSQL, or when nothing waits for a sync).
    async fn synced_so_far(&self) {
        if let Some(sync) = &self.wal_sync {
            sync.synced_so_far().await;
        }
    }

    /// SQLite's group commit so far: (commits, WAL syncs); `None` elsewhere.
    pub fn group_commit_counts(&self) -> Option<(u64, u64)> {
        self.wal_sync.as_ref().map(|s| s.counts())
    }

    /// The newest event id that is on disk and may be published: every id up to it
    /// is committed or rolled back for good.
    /// On PostgreSQL: the publish horizon, or what this instance has published
    /// (a contiguous run of committed ids), whichever is further.
    fn durable_event(&self) -> i64 {
        match (&self.wal_sync, self.backend) {
            (Some(s), _) => s.durable_event(),
            (None, Backend::Postgres) => self.horizon.safe().max(self.publication.published()),
            (None, Backend::Sqlite) => i64::MAX,
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection URL (after normalisation), for the PostgreSQL listener.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cache of found sessions, for the PostgreSQL listener to tell what other
    /// instances changed (this instance's own changes go through
    /// [`Tx::sessions_changed`]).
    pub fn session_cache(&self) -> Arc<SessionCache> {
        Arc::clone(&self.sessions)
    }

    /// The pool for reads that need no transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Starts a write transaction. Append events with [`Tx::emit`] and finish with
    /// [`Tx::commit`]; dropping it rolls back.
    ///
    /// While a flow holds a transaction it reads through the transaction, never
    /// through [`Db::reader`] (or a `Db` method that does): on PostgreSQL both come
    /// from one pool, and as many flows as it has connections, each holding one and
    /// waiting for a second, would wait on each other until the pool's acquire
    /// timeout. Read what the transaction does not need first, before `begin`
    /// (tests/api/pool.rs runs the write flows on a pool of one to hold this).
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        let started = std::time::Instant::now();
        let conn = match &self.group {
            Some(group) => TxConn::Turn(group.seat().await?),
            None => TxConn::Pg(
                self.writer
                    .begin()
                    .await
                    .context("beginning a transaction")?,
            ),
        };
        Ok(Tx {
            conn,
            db: self.clone(),
            appended: Vec::new(),
            sessions_changed: Vec::new(),
            started,
        })
    }

    /// Closes both pools (graceful shutdown).
    pub async fn close(&self) {
        if let Some(group) = &self.group {
            group.close().await;
        }
        self.writer.close().await;
        self.reader.close().await;
        if let Some(others) = &self.others {
            others.notify_one(); // it sees the pool closed and ends
        }
    }
}

/// A write transaction that may append events to the log.
pub struct Tx {
    conn: TxConn,
    db: Db,
    /// The events appended in this transaction, in id order.
    appended: Vec<StoredEvent>,
    /// Users whose cached sessions are forgotten once this commits.
    sessions_changed: Vec<i64>,
    started: std::time::Instant,
}

/// Where a transaction's statements go.
enum TxConn {
    /// PostgreSQL: a transaction of its own on a pooled connection.
    Pg(sqlx::Transaction<'static, Any>),
    /// SQLite: a turn on the group writer's connection, inside its batch.
    Turn(writer::Seat),
}

impl Tx {
    /// The connection, for the area modules' statements ([`sql`]).
    pub fn conn(&mut self) -> sql::Conn<'_> {
        match &mut self.conn {
            TxConn::Pg(tx) => sql::Conn::Any(tx),
            TxConn::Turn(seat) => sql::Conn::Native(seat.conn()),
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// Appends a typed event to `channel` in this transaction; it is published only
    /// if the transaction commits. Returns its id. See [`Tx::append_json`] for the
    /// ordering rule.
    pub async fn emit<P: Payload>(&mut self, channel: &str, payload: &P) -> anyhow::Result<i64> {
        let data = serde_json::to_string(payload).context("serialising an event")?;
        self.append_text(channel, P::TYPE, data).await
    }

    /// Appends the same typed event to each of `channels` (serialised once), in
    /// order. Returns the last id.
    ///
    /// On PostgreSQL in one statement, since each is a round trip to the
    /// server. On SQLite a statement runs on the request's own thread, and one
    /// row a statement lets each read its id without `RETURNING`, which costs
    /// SQLite more than a second run of a prepared `INSERT`
    /// ([`sql::Query::insert_id`]).
    pub async fn emit_to<P: Payload>(
        &mut self,
        channels: &[&str],
        payload: &P,
    ) -> anyhow::Result<i64> {
        let data = serde_json::to_string(payload).context("serialising an event")?;
        if self.db.backend == Backend::Sqlite
            || channels.len() < 2
            || channels.len() > events::MANY_MAX_CHANNELS
        {
            let mut last = 0;
            for channel in channels {
                last = self.append_text(channel, P::TYPE, data.clone()).await?;
            }
            return Ok(last);
        }
        self.take_append_lock().await?;
        let inserted = events::insert_many(self.conn(), channels, P::TYPE, data).await?;
        let last = inserted.last().map_or(0, |e| e.id);
        self.appended.extend(inserted);
        Ok(last)
    }

    /// Appends an event whose type and data are not one of pointcast's own typed
    /// payloads (an integrator's `app.` event, whose data is any JSON object).
    pub async fn append_json(
        &mut self,
        channel: &str,
        event_type: &str,
        data: &serde_json::Value,
    ) -> anyhow::Result<i64> {
        self.append_text(channel, event_type, data.to_string())
            .await
    }

    /// A reader must never move its cursor past an id that commits later (DESIGN.md
    /// §2). SQLite has a single writer, so ids commit in order by themselves. On
    /// PostgreSQL appending transactions commit concurrently (group commit), and
    /// readers stop at the publish horizon ([`horizon`]): the first append takes
    /// the append lock in shared mode, held until commit. Append events last
    /// in a transaction, after its row changes, so a slow transaction holds the
    /// horizon back for as short a time as possible.
    async fn append_text(
        &mut self,
        channel: &str,
        event_type: &str,
        data: String,
    ) -> anyhow::Result<i64> {
        self.take_append_lock().await?;
        let event = events::insert(self.conn(), channel, event_type, data).await?;
        let id = event.id;
        self.appended.push(event);
        Ok(id)
    }

    /// PostgreSQL: before the transaction's first id, the append lock, shared
    /// (see [`Tx::append_json`]).
    async fn take_append_lock(&mut self) -> anyhow::Result<()> {
        if self.appended.is_empty() && self.db.backend == Backend::Postgres {
            sql::query("SELECT pg_advisory_xact_lock_shared($1)")
                .bind(APPEND_LOCK_KEY)
                .execute(self.conn())
                .await
                .context("taking the event append lock")?;
        }
        Ok(())
    }

    /// Marks `user_id`'s sessions (or the name they carry) as changed by this
    /// transaction: once it commits, every instance's session cache forgets them
    /// (on PostgreSQL through a `NOTIFY` delivered at commit).
    pub async fn sessions_changed(&mut self, user_id: i64) -> anyhow::Result<()> {
        if self.db.backend == Backend::Postgres {
            sql::query("SELECT pg_notify($1, $2)")
                .bind(SESSIONS_CHANNEL)
                .bind(user_id.to_string())
                .execute(self.conn())
                .await
                .context("notifying other instances of a session change")?;
        }
        self.sessions_changed.push(user_id);
        Ok(())
    }

    /// Commits and returns once the commit is durable (on SQLite, after the group
    /// sync that covers it) and its events are live here. Wakes this instance's
    /// tailer (and, on PostgreSQL, every other instance's listener through `NOTIFY`,
    /// delivered at commit).
    pub async fn commit(self) -> anyhow::Result<()> {
        let Tx {
            conn,
            db,
            appended: events,
            sessions_changed,
            started,
        } = self;
        let last = events.last().map_or(0, |e| e.id);
        let tailing = db.publication.is_tailing();
        let tx = match conn {
            TxConn::Pg(tx) => tx,
            TxConn::Turn(seat) => {
                // The writer commits it with its batch and counts that commit
                // for the WAL sync; it runs on whether or not this caller waits.
                let (done, committed) = tokio::sync::oneshot::channel();
                seat.finish(writer::Finish::Commit {
                    events,
                    sessions: sessions_changed,
                    done,
                });
                let ticket = committed
                    .await
                    .context("the database writer stopped")?
                    .map_err(|e| anyhow::anyhow!("committing: {e}"))?;
                db.settle(ticket, last, tailing, started).await;
                return Ok(());
            }
        };
        // The commit and what must follow it run as a task of their own: a caller
        // that goes away mid-commit (a client hanging up) must not leave a commit
        // uncounted, or its events would wait for the next commit to be synced,
        // handed over and published.
        let after = db.clone();
        let ticket = tokio::spawn(async move {
            tx.commit().await.context("committing")?;
            for user_id in sessions_changed {
                after.sessions.forget_user(user_id);
            }
            if !events.is_empty()
                && let Some(others) = &after.others
            {
                others.notify_one();
            }
            Ok::<_, anyhow::Error>(after.count_commit(1, events, tailing))
        })
        .await
        .context("the commit task failed")??;
        db.settle(ticket, last, tailing, started).await;
        Ok(())
    }
}

impl Db {
    /// What every commit does at once, whether or not it appended events: counts
    /// it for SQLite's group sync (the returned ticket), hands its events to the
    /// tailer (only while one runs to take them) and wakes the tailer.
    fn count_commit(&self, n: u64, events: Vec<StoredEvent>, tailing: bool) -> Option<u64> {
        let last = events.last().map_or(0, |e| e.id);
        let handed = if tailing { events } else { Vec::new() };
        match &self.wal_sync {
            Some(sync) => Some(sync.committed(n, last, handed)),
            None => {
                if last > 0 {
                    self.publication.hand_over(handed);
                    self.publication.wake();
                }
                None
            }
        }
    }

    /// What a committer waits for before answering: its commit on disk (on SQLite,
    /// the group sync that covers `ticket`; the sync hands the events on and wakes
    /// the tailer), then its events live here.
    async fn settle(
        &self,
        ticket: Option<u64>,
        last: i64,
        tailing: bool,
        started: std::time::Instant,
    ) {
        if let (Some(sync), Some(ticket)) = (&self.wal_sync, ticket) {
            sync.wait(ticket).await;
        }
        self.stats.transactions.observe(started.elapsed());
        // Read your writes: once the request that made these events answers, they
        // are live on this instance (any reader here will find them). Bounded, so
        // a stalled tailer delays answers but never blocks them.
        if last > 0 && tailing {
            self.publication.wait_published(last, PUBLISH_WAIT).await;
        }
    }
}

/// PostgreSQL: after commits with events, `NOTIFY`s the other instances once per
/// wake-up (wake-ups during a `NOTIFY` coalesce into the next one). Ends when the
/// pool is closed.
async fn tell_others(pool: AnyPool, tag: Arc<str>, wake: Arc<tokio::sync::Notify>) {
    loop {
        wake.notified().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(&*tag)
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = ?e, "telling other instances of a commit failed");
        }
    }
}

/// Tells the backend from the URL and makes a SQLite URL create its file.
fn normalise_url(url: &str) -> anyhow::Result<(Backend, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_string()))
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        if durable::sqlite_path(url).is_none() {
            anyhow::bail!(
                "{url:?}: SQLite must be a file (sqlite://FILE); an in-memory database \
                 cannot be shared by the server's readers and writers"
            );
        }
        let with_mode = if rest.contains("mode=") {
            url.to_string()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        Ok((Backend::Sqlite, with_mode))
    } else {
        anyhow::bail!("unsupported database URL {url:?}: use sqlite://FILE or postgres://...")
    }
}

/// What every SQLite connection runs first. synchronous=NORMAL: a commit does not
/// fsync by itself; `durable` syncs the WAL once for every group of commits before
/// any of them is answered. busy_timeout covers the readers' rare checkpoint waits.
/// (The group writer's connection adds `writer::WRITER_PRAGMAS`.)
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

async fn sqlite_pool(url: &str, size: u32) -> anyhow::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(size)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        // A connection to an embedded file cannot go stale: pinging it before each
        // use was one more round trip to its thread per statement.
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .with_context(|| format!("opening SQLite database {url}"))
}

/// True when `e` is a unique-constraint violation (on either backend, from
/// sqlx or from SQLite's native write connection).
pub fn is_unique_violation(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let sqlx = c
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .is_some_and(|d| d.is_unique_violation());
        let native = matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        );
        sqlx || native
    })
}

/// A database of its own for a unit test: SQLite in a temporary directory,
/// migrated, with its writer running (keep the directory while it is used).
#[cfg(test)]
pub(crate) async fn temp_sqlite() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let db = Db::connect(&url).await.unwrap();
    (dir, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let (b, u) = normalise_url("sqlite://x.db").unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(u, "sqlite://x.db?mode=rwc");
        let (_, u) = normalise_url("sqlite://x.db?cache=shared").unwrap();
        assert_eq!(u, "sqlite://x.db?cache=shared&mode=rwc");
        let (_, u) = normalise_url("sqlite://x.db?mode=ro").unwrap();
        assert_eq!(u, "sqlite://x.db?mode=ro");
    }

    /// A batch's savepoint journal must not spill to a temporary file (the
    /// group writer's turns each run under a savepoint): the writer keeps
    /// temporary storage in memory (2); readers, whose sorts may be large,
    /// keep SQLite's default (0: files past the cache).
    #[tokio::test]
    async fn the_writer_keeps_temporary_storage_in_memory_and_readers_do_not() {
        let (_dir, db) = temp_sqlite().await;
        let mut tx = db.begin().await.unwrap();
        let writer: i64 = sql::query_scalar("PRAGMA temp_store")
            .fetch_one(tx.conn())
            .await
            .unwrap();
        drop(tx);
        let reader: i64 = sqlx::query_scalar("PRAGMA temp_store")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert_eq!((writer, reader), (2, 0));
    }

    /// Signing up with a taken login is told from the constraint error, which
    /// on SQLite now comes from the native write connection.
    #[tokio::test]
    async fn a_unique_violation_is_recognised_from_the_native_connection() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, u TEXT UNIQUE)")
            .unwrap();
        let insert = |k: &'static str, u: &'static str| {
            sql::query("INSERT INTO t VALUES ($1, $2)").bind(k).bind(u)
        };
        insert("a", "x")
            .execute(sql::Conn::Native(&mut c))
            .await
            .unwrap();
        let unique = insert("b", "x")
            .execute(sql::Conn::Native(&mut c))
            .await
            .unwrap_err();
        assert!(is_unique_violation(&unique.context("signing up")));
        let primary = insert("a", "y")
            .execute(sql::Conn::Native(&mut c))
            .await
            .unwrap_err();
        assert!(is_unique_violation(&primary));
        let other = sql::query("INSERT INTO nowhere VALUES (1)")
            .execute(sql::Conn::Native(&mut c))
            .await
            .unwrap_err();
        assert!(!is_unique_violation(&other));
    }

    #[test]
    fn postgres_urls_pass_through_and_others_fail() {
        assert_eq!(
            normalise_url("postgres://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert!(normalise_url("mysql://x").is_err());
        // Each connection would get a database of its own.
        assert!(normalise_url("sqlite::memory:").is_err());
        assert!(normalise_url("sqlite://").is_err());
    }
}
