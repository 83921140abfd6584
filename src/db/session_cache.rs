//! A short-lived cache of session lookups.
//!
//! Every authenticated request looked its token up in the database: a read on the
//! reader pool that cost more than the rest of a long-poll's answer. Sessions
//! change rarely and are read constantly (a publisher's token thousands of times a
//! second, every long-poller's on every poll), so found sessions are kept for
//! [`FRESH_FOR`].
//!
//! What keeps it correct:
//! - A session's own expiry is kept with it and checked on every hit.
//! - Whatever ends sessions or renames a user on this instance forgets that user's
//!   entries before it answers ([`SessionCache::forget_user`]); on PostgreSQL the
//!   same transaction notifies the other instances, whose listener makes their
//!   caches forget them too ([`crate::events::listener`]), and an instance whose
//!   notification connection drops forgets everything.
//! - What no notification reaches (a row edited by hand, another process on the
//!   same SQLite file) is seen within [`FRESH_FOR`].
//!
//! Only found sessions are cached: an unknown token always asks the database, so a
//! token created a moment ago on another instance works at once. Entries are keyed
//! by the token's SHA-256, never the token, and the map is bounded.
//!
//! It lives with storage because storage is all that fills and empties it: the
//! session lookups (`db::users`) and the commits that change sessions
//! ([`super::Tx::sessions_changed`]). The database handle hands it only to the
//! PostgreSQL listener ([`super::Db::session_cache`]), which relays other
//! instances' changes.

use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::auth::Principal;

/// How long a found session is trusted without asking the database again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// Most sessions kept; past it, stale ones are swept and, if none are, new ones
/// are simply not cached.
const CAPACITY: usize = 16_384;

struct Entry {
    principal: Principal,
    /// The session's own expiry, unix millis.
    expires_at: i64,
    fetched: Instant,
}

impl Entry {
    /// Whether it may still answer: read within [`FRESH_FOR`], its session not
    /// expired at `now_ms`.
    fn fresh(&self, now_ms: i64) -> bool {
        self.fetched.elapsed() < FRESH_FOR && self.expires_at > now_ms
    }
}

/// What a forget was about, as [`SessionCache::subscribe`] tells it: the open
/// streams of that user (or of everyone) are checked again
/// ([`crate::events::connections`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionChange {
    User(i64),
    All,
}

/// Found sessions by token hash.
pub struct SessionCache {
    /// Every forget, for whoever checks open streams against their sessions.
    changes: tokio::sync::broadcast::Sender<SessionChange>,
    entries: DashMap<String, Entry>,
    /// Bumped by every forget: a lookup that read the database before a forget
    /// must not put back what the forget removed.
    epoch: std::sync::atomic::AtomicU64,
    /// No sweep before this moment when the map is full of fresh entries, so a
    /// burst of new sessions does not scan the whole map for each.
    next_sweep: std::sync::Mutex<Option<Instant>>,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self {
            // A receiver that falls this far behind is told it lagged and checks
            // everything.
            changes: tokio::sync::broadcast::channel(1024).0,
            entries: DashMap::new(),
            epoch: Default::default(),
            next_sweep: Default::default(),
        }
    }
}

impl SessionCache {
    /// Every later forget ([`SessionCache::forget_user`], [`SessionCache::clear`]),
    /// whether this instance's commit or another instance's notification caused it.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SessionChange> {
        self.changes.subscribe()
    }

    /// The cached principal for `token_hash` and its session's expiry, if fresh
    /// and not expired at `now_ms`.
    pub fn get(&self, token_hash: &str, now_ms: i64) -> Option<(Principal, i64)> {
        match self.entries.get(token_hash) {
            None => return None,
            Some(e) if e.fresh(now_ms) => return Some((e.principal.clone(), e.expires_at)),
            Some(_) => {}
        }
        // Stale or expired: dropped (unless a fresh read replaced it meanwhile).
        self.entries.remove_if(token_hash, |_, e| !e.fresh(now_ms));
        None
    }

    /// Whether `token_hash`'s session is cached, fresh and unexpired at
    /// `now_ms`: what [`SessionCache::get`] would answer from memory, without the
    /// principal's copy (a long-poll that carries on asks at every poll).
    pub fn holds(&self, token_hash: &str, now_ms: i64) -> bool {
        self.entries
            .get(token_hash)
            .is_some_and(|e| e.fresh(now_ms))
    }

    /// Taken before reading a session from the database, and handed to [`put`].
    ///
    /// [`put`]: SessionCache::put
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Remembers a session read from the database after [`epoch`] gave `epoch`;
    /// nothing if something was forgotten since (the read may predate it).
    ///
    /// [`epoch`]: SessionCache::epoch
    pub fn put(&self, epoch: u64, token_hash: String, principal: Principal, expires_at: i64) {
        if self.epoch() != epoch {
            return;
        }
        if self.entries.len() >= CAPACITY && !self.sweep() {
            return;
        }
        self.entries.insert(
            token_hash,
            Entry {
                principal,
                expires_at,
                fetched: Instant::now(),
            },
        );
    }

    /// Forgets every session of `user_id` (logout, password or name change).
    pub fn forget_user(&self, user_id: i64) {
        self.bump();
        self.entries.retain(|_, e| e.principal.user_id != user_id);
        // No receiver (no stream open yet) is not an error.
        let _ = self.changes.send(SessionChange::User(user_id));
    }

    /// Forgets everything (a lost notification connection: anything may have
    /// changed meanwhile).
    pub fn clear(&self) {
        self.bump();
        self.entries.clear();
        let _ = self.changes.send(SessionChange::All);
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Drops stale entries; true if there is room afterwards.
    fn sweep(&self) -> bool {
        let now = Instant::now();
        {
            let mut next = self.next_sweep.lock().unwrap_or_else(|p| p.into_inner());
            if next.is_some_and(|t| now < t) {
                return false;
            }
            *next = Some(now + FRESH_FOR / 2);
        }
        self.entries.retain(|_, e| e.fetched.elapsed() < FRESH_FOR);
        self.entries.len() < CAPACITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn who(id: i64) -> Principal {
        Principal::person(id, Role::Customer, format!("u{id}"))
    }

    #[test]
    fn a_found_session_is_served_until_it_expires() {
        let c = SessionCache::default();
        c.put(c.epoch(), "h1".into(), who(1), 1_000);
        assert_eq!(c.get("h1", 999), Some((who(1), 1_000)));
        assert_eq!(c.get("h1", 1_000), None, "expired at its own expiry");
        assert_eq!(c.get("h1", 0), None, "and gone after");
        assert_eq!(c.get("unknown", 0), None);
    }

    #[test]
    fn holds_answers_as_get_does() {
        let c = SessionCache::default();
        c.put(c.epoch(), "h1".into(), who(1), 1_000);
        c.put(c.epoch(), "h2".into(), who(2), 1_000);
        assert!(c.holds("h1", 999));
        assert!(!c.holds("h1", 1_000), "expired at its own expiry");
        assert!(!c.holds("unknown", 0));
        c.forget_user(1);
        assert!(!c.holds("h1", 0), "a forget is seen at once");
        assert!(c.holds("h2", 0));
    }

    #[test]
    fn forgetting_a_user_drops_all_of_their_sessions_only() {
        let c = SessionCache::default();
        c.put(c.epoch(), "a".into(), who(1), i64::MAX);
        c.put(c.epoch(), "b".into(), who(1), i64::MAX);
        c.put(c.epoch(), "c".into(), who(2), i64::MAX);
        c.forget_user(1);
        assert_eq!(c.get("a", 0), None);
        assert_eq!(c.get("b", 0), None);
        assert_eq!(c.get("c", 0), Some((who(2), i64::MAX)));
        c.clear();
        assert_eq!(c.get("c", 0), None);
    }

    #[test]
    fn a_read_from_before_a_forget_is_not_put_back() {
        let c = SessionCache::default();
        let before = c.epoch();
        c.forget_user(1);
        c.put(before, "a".into(), who(1), i64::MAX);
        assert_eq!(c.get("a", 0), None);
        c.put(c.epoch(), "a".into(), who(1), i64::MAX);
        assert_eq!(c.get("a", 0), Some((who(1), i64::MAX)));
    }

    #[test]
    fn the_map_stays_bounded() {
        let c = SessionCache::default();
        for i in 0..(CAPACITY + 100) {
            c.put(c.epoch(), format!("h{i}"), who(i as i64), i64::MAX);
        }
        assert_eq!(
            c.entries.len(),
            CAPACITY,
            "full of fresh entries: new ones not kept"
        );
        assert_eq!(c.get("h0", 0), Some((who(0), i64::MAX)));
    }
}
