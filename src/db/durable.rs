//! Group commit for SQLite: many commits, one `fdatasync`.
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`, so a `COMMIT` only appends
//! its frames to the `-wal` file, and survives a killed process but not a power
//! cut. `synchronous=FULL` would make every commit wait for its own fsync, one
//! after another behind SQLite's single writer. Instead, a commit returns to its
//! caller only once one task has `fdatasync`ed the WAL file after it: every commit
//! that lands while a sync runs is covered by the next one, so under load a sync
//! covers dozens of commits. A commit's frames are in the file (and in the WAL's
//! checksummed chain, which recovery replays) before it returns, so a sync started
//! afterwards makes it durable exactly as `FULL` would.
//!
//! Events are published only once durable ([`WalSync::durable_event`]): a reader
//! never sees an event that a power cut could take back and hand its id to another.
//! Each sync hands the events it made durable to the tailer and wakes it, through
//! the [`Publication`].
//!
//! The syncs run on a thread of their own, parked while there is nothing to sync:
//! `fdatasync` blocks, and a task that handed each sync to tokio's blocking pool
//! cost two more thread switches per sync than waking one waiting thread does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::Duration;

use tokio::sync::watch;

use super::StoredEvent;
use crate::events::publication::Publication;

/// What the last completed sync covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Synced {
    /// Commits counted up to the sync.
    commits: u64,
    /// The newest event id committed before it.
    event: i64,
}

/// The group committer of one SQLite file.
pub struct WalSync {
    wal: PathBuf,
    commits: AtomicU64,
    newest_event: AtomicI64,
    synced: watch::Sender<Synced>,
    /// The syncing thread, unparked by every commit.
    syncer: OnceLock<Thread>,
    /// Syncs done, for `/metrics` (commits per sync is the grouping achieved).
    syncs: AtomicU64,
    /// Events committed but not yet synced, for the tailer.
    pending: std::sync::Mutex<Vec<StoredEvent>>,
    /// Where synced events go, and whom a sync that made events durable wakes.
    publication: Arc<Publication>,
}

impl WalSync {
    /// A syncer for the database file at `db_path`, whose events so far (up to
    /// `head`) are already on disk.
    pub fn new(db_path: PathBuf, head: i64, publication: Arc<Publication>) -> Arc<Self> {
        let mut wal = db_path.into_os_string();
        wal.push("-wal");
        Arc::new(Self {
            wal: wal.into(),
            commits: AtomicU64::new(0),
            newest_event: AtomicI64::new(head),
            synced: watch::Sender::new(Synced {
                commits: 0,
                event: head,
            }),
            syncer: OnceLock::new(),
            syncs: AtomicU64::new(0),
            pending: std::sync::Mutex::new(Vec::new()),
            publication,
        })
    }

    /// Counts `n` transactions committed together that have returned (with
    /// `last_event`, the newest event they appended, or 0, and the events to hand
    /// to the tailer once synced) and returns their ticket for [`WalSync::wait`].
    pub fn committed(&self, n: u64, last_event: i64, events: Vec<StoredEvent>) -> u64 {
        // The events first: a sync that counts this commit then also sees them.
        if !events.is_empty() {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(events);
        }
        if last_event > 0 {
            self.newest_event.fetch_max(last_event, Ordering::AcqRel);
        }
        let ticket = self.commits.fetch_add(n, Ordering::AcqRel) + n;
        // An unpark before the thread parks makes that park return at once: no
        // commit's wake-up is lost.
        if let Some(t) = self.syncer.get() {
            t.unpark();
        }
        ticket
    }

    /// Waits until a sync has covered commit `ticket`.
    pub async fn wait(&self, ticket: u64) {
        let mut synced = self.synced.subscribe();
        let _ = synced.wait_for(|s| s.commits >= ticket).await;
    }

    /// Waits until every commit counted so far is synced: at once when none is
    /// waiting for a sync.
    pub async fn synced_so_far(&self) {
        let counted = self.commits.load(Ordering::Acquire);
        if self.synced.borrow().commits < counted {
            self.wait(counted).await;
        }
    }

    /// Commits counted and syncs done so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.syncs.load(Ordering::Relaxed),
        )
    }

    /// The newest event id that is on disk: what may be published.
    pub fn durable_event(&self) -> i64 {
        self.synced.borrow().event
    }

    /// Starts the syncing thread. It ends once every other handle to `sync` is
    /// gone (it holds only a weak one), noticing within a second.
    pub fn start(sync: &Arc<Self>) -> std::io::Result<()> {
        let weak = Arc::downgrade(sync);
        let handle = std::thread::Builder::new()
            .name("pointcast-walsync".into())
            .spawn(move || Self::run(&weak))?;
        let _ = sync.syncer.set(handle.thread().clone());
        // Commits counted before the thread was known are synced on its first pass.
        handle.thread().unpark();
        Ok(())
    }

    /// Syncs whenever commits are waiting. A failed sync is retried and nobody is
    /// answered meanwhile: an acknowledged write must be on disk (PostgreSQL,
    /// likewise, stops rather than carry on after a failed fsync).
    fn run(weak: &Weak<Self>) {
        let mut wal = WalFile::default();
        loop {
            let Some(sync) = weak.upgrade() else { return };
            let done = *sync.synced.borrow();
            // Commits before the event: see `committed`.
            let commits = sync.commits.load(Ordering::Acquire);
            if commits <= done.commits {
                drop(sync);
                std::thread::park_timeout(Duration::from_secs(1));
                continue;
            }
            let event = sync.newest_event.load(Ordering::Acquire);
            match wal.sync(&sync.wal) {
                Ok(()) => {
                    sync.syncs.fetch_add(1, Ordering::Relaxed);
                    sync.hand_off(event);
                    sync.synced.send_replace(Synced { commits, event });
                    if event > done.event {
                        sync.publication.wake();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, wal = %sync.wal.display(), "syncing the SQLite WAL failed; retrying");
                    drop(sync);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

impl WalSync {
    /// Hands the events now on disk (ids up to `durable`) to the tailer; later
    /// ones wait for the next sync.
    fn hand_off(&self, durable: i64) {
        // Not by position: commits report in the order their tasks run, which
        // need not be id order.
        let synced: Vec<StoredEvent> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let (synced, later) = pending.drain(..).partition(|e| e.id <= durable);
            *pending = later;
            synced
        };
        self.publication.hand_over(synced);
    }
}

/// The WAL file as the syncer holds it open between syncs.
///
/// Opening it by name for every sync was an `openat` and a `close` per sync, a
/// thousand or more a second under load (1.3 % of the server's CPU at 5,000
/// announcements a second, by `perf`); a held file costs one `fstat` instead.
#[derive(Default)]
struct WalFile {
    file: Option<std::fs::File>,
}

impl WalFile {
    /// `fdatasync` on the WAL file at `path`. A WAL that does not exist holds
    /// nothing unsynced (SQLite removes it only after checkpointing it into the
    /// synced database file).
    ///
    /// Called after the commits it is to cover were counted. A held file that
    /// has lost its name was removed by SQLite once all of it was checkpointed
    /// (and the database file synced), and a new WAL may have taken the name, so
    /// the name is opened again: any commit counted before this call that is not
    /// in the removed file is in the one named now.
    fn sync(&mut self, path: &std::path::Path) -> std::io::Result<()> {
        match self.current(path)? {
            Some(f) => f.sync_data(),
            None => Ok(()),
        }
    }

    /// The file that bears `path`'s name now, if any.
    fn current(&mut self, path: &std::path::Path) -> std::io::Result<Option<&std::fs::File>> {
        use std::os::unix::fs::MetadataExt;
        if let Some(f) = &self.file
            && f.metadata()?.nlink() == 0
        {
            self.file = None;
        }
        if self.file.is_none() {
            match std::fs::File::open(path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(self.file.as_ref())
    }
}

/// The database file of a SQLite URL, or `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("sqlite://x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_path("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }

    #[test]
    fn the_held_wal_follows_its_name() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("pointcast-walfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.db-wal");
        let named = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
        // The inode of the file a sync would reach now, if any.
        let held = |wal: &mut WalFile| {
            let file = wal.current(&path).unwrap();
            file.map(|f| f.metadata().unwrap().ino())
        };
        let mut wal = WalFile::default();
        assert_eq!(held(&mut wal), None, "no WAL, nothing to sync");
        wal.sync(&path).unwrap();

        std::fs::write(&path, b"frames").unwrap();
        let first = named(&path);
        assert_eq!(held(&mut wal), Some(first));
        wal.sync(&path).unwrap();

        // SQLite removed the WAL (checkpointed) and a new one took its name; the
        // held file keeps its inode, so the new one has another.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"new frames").unwrap();
        assert_ne!(named(&path), first);
        assert_eq!(
            held(&mut wal),
            Some(named(&path)),
            "the file named now is synced, not the removed one"
        );

        std::fs::remove_file(&path).unwrap();
        assert_eq!(held(&mut wal), None, "removed and not made again");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn synced_so_far_waits_for_the_commits_counted_before_it() {
        let dir = std::env::temp_dir().join(format!("pointcast-walwait-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x.db-wal"), b"frames").unwrap();
        let sync = WalSync::new(dir.join("x.db"), 0, Arc::new(Publication::default()));
        // Nothing counted: nothing to wait for.
        sync.synced_so_far().await;
        sync.committed(1, 0, Vec::new());
        // The syncer is not running: the commit stays unsynced.
        let mut waiting = Box::pin(sync.synced_so_far());
        assert!(futures_util::FutureExt::now_or_never(&mut waiting).is_none());
        WalSync::start(&sync).unwrap();
        waiting.await;
        assert_eq!(sync.counts(), (1, 1));
        sync.synced_so_far().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn one_sync_covers_every_commit_before_it() {
        let dir = std::env::temp_dir().join(format!("pointcast-walsync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("x.db");
        std::fs::write(dir.join("x.db-wal"), b"frames").unwrap();
        let publication = Arc::new(Publication::default());
        let sync = WalSync::new(db, 10, Arc::clone(&publication));
        assert_eq!(sync.durable_event(), 10);
        let ev = |id| StoredEvent {
            id,
            channel: "products".into(),
            event_type: "x".into(),
            at: 0,
            data: "{}".into(),
        };
        // Commits report in whatever order their tasks run.
        let c = sync.committed(1, 12, vec![ev(12)]);
        let b = sync.committed(1, 0, Vec::new());
        let a = sync.committed(1, 11, vec![ev(11)]);
        WalSync::start(&sync).unwrap();
        sync.wait(c).await;
        sync.wait(a).await;
        sync.wait(b).await;
        assert_eq!(sync.durable_event(), 12);
        let (commits, syncs) = sync.counts();
        assert_eq!(commits, 3);
        // All three had returned before the syncer started: one sync covers them.
        assert_eq!(syncs, 1);
        let handed: Vec<i64> = publication
            .take_after(10, 10)
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(handed, vec![11, 12]);
        publication.committed().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
