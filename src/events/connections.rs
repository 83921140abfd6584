//! Who is connected: open streams and waiting long-polls, with a per-principal cap;
//! and the rule that a connection lives no longer than the session it was opened
//! with.
//!
//! The registry doubles as presence (`GET /admin/connections`) and as the tracing
//! record of each connection's life (opened with who and how, closed with how long).
//!
//! # Sessions end their streams
//!
//! Each connection remembers the session it was opened through (its token hash
//! and expiry) and, for an owner, the stores it could read. It is ended (its hub
//! queue closed, so the stream ends and a waiting poll answers at once, on either
//! transport) when:
//! - the session is gone: logout, a password change (which ends the user's other
//!   sessions), an admin's "disconnect this user" (which ends all of them);
//! - the user's role or stores changed (what it may read changed; a reconnect
//!   reads the new set);
//! - the session expired by the app clock ([`watch`] checks four times a second).
//!
//! What triggers a check is the session cache's forget ([`SessionChange`]): every
//! commit that changes a user's sessions, name, role or stores calls
//! `Tx::sessions_changed`, whose forget runs on this instance after the commit and,
//! on PostgreSQL, on every other instance through the listener's `NOTIFY`. A lost
//! notification connection forgets everything, and so checks every connection.
//! A reconnect with the ended session is refused (401).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::hub::Closer;
use crate::auth::{Role, SessionRef};
use crate::db::Db;
use crate::db::session_cache::SessionChange;
use crate::jobs::clock::Clock;

/// How often connections are checked for sessions that expired meanwhile: well
/// inside the second within which an ended session's streams must end.
const EXPIRY_CHECK: Duration = Duration::from_millis(250);

/// How a client is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Sse,
    LongPoll,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sse => "sse",
            Self::LongPoll => "long_poll",
        }
    }
}

/// One open connection, as `GET /admin/connections` lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionInfo {
    pub id: u64,
    pub user_id: Option<i64>,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub transport: Transport,
    /// RFC 3339 (kept as milliseconds, written out when listed: every open
    /// connection holds one).
    #[serde(serialize_with = "crate::time::serialize_rfc3339")]
    #[schema(value_type = String)]
    pub since: i64,
    /// The client's address, `unknown` when there is none.
    #[serde(serialize_with = "serialize_remote")]
    #[schema(value_type = String)]
    pub remote_addr: Option<IpAddr>,
}

/// A client's address as the list and the logs write it.
pub fn remote_text(addr: Option<IpAddr>) -> String {
    addr.map_or_else(|| "unknown".to_string(), |a| a.to_string())
}

/// The key an anonymous reader is capped under: `ip:` and its address as
/// [`remote_text`] writes it. IPv4 digits are written here: `Ipv4Addr`'s
/// `Display` (a buffer, then the formatter's padding) and the copy into
/// `format!` were 4 % of a long-poll's instructions (callgrind;
/// docs/performance.md, seventh part), and every poll needs this key.
pub fn address_key(addr: Option<IpAddr>) -> String {
    let mut key = String::with_capacity(24);
    key.push_str("ip:");
    match addr {
        Some(IpAddr::V4(a)) => {
            for (i, octet) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    key.push('.');
                }
                push_decimal(&mut key, octet);
            }
        }
        Some(a) => key.push_str(&a.to_string()),
        None => key.push_str("unknown"),
    }
    key
}

/// Appends `n` in decimal, without leading zeros.
fn push_decimal(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

fn serialize_remote<S: serde::Serializer>(addr: &Option<IpAddr>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&remote_text(*addr))
}

/// What a connection was opened with, beyond what the list shows: what decides
/// whether it may stay open.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    /// The session it reads through; `None` for anonymous readers.
    pub session: Option<SessionRef>,
    /// An owner's stores when it connected.
    pub stores: Vec<i64>,
}

struct Entry {
    info: ConnectionInfo,
    grant: Grant,
    /// Ends the connection's feed; set once it has subscribed.
    closer: Option<Closer>,
    /// Ended before it had subscribed: ended as soon as it does.
    ended: bool,
}

/// The registry. Shared by every worker.
pub struct Connections {
    next_id: AtomicU64,
    /// Boxed: an entry is a few hundred bytes, and a hash table keeps up to
    /// half its slots empty after it grows; empty slots of a pointer cost 8.
    open: DashMap<u64, Box<Entry>>,
    /// Principal key (`user:{id}` or `ip:{addr}`) -> connections it holds.
    per_principal: DashMap<String, usize>,
    max_per_principal: usize,
    /// The cap for anonymous readers, per client address: larger, since many
    /// visitors can share one address (a NAT, an office).
    max_per_address: usize,
    /// (session expiry, connection id) of connections with an expiring session,
    /// soonest first.
    expiries: Mutex<BTreeSet<(i64, u64)>>,
}

/// Over the per-principal cap.
#[derive(Debug, thiserror::Error)]
#[error("too many open streams: at most {0} per user")]
pub struct TooManyStreams(pub usize);

/// Held for as long as the connection is open; dropping it unregisters and logs.
pub struct ConnectionGuard {
    registry: Arc<Connections>,
    id: u64,
    key: String,
    opened: Instant,
}

impl Connections {
    /// A registry capping each signed-in user at `max_per_principal` connections
    /// and each anonymous client address at `max_per_address`.
    pub fn new(max_per_principal: usize, max_per_address: usize) -> Self {
        Self {
            next_id: AtomicU64::new(1),
            open: DashMap::new(),
            per_principal: DashMap::new(),
            max_per_principal,
            max_per_address,
            expiries: Mutex::new(BTreeSet::new()),
        }
    }

    /// Registers a connection, or refuses it when its principal is at the cap.
    /// `key` is `user:{id}` for a signed-in reader, `ip:{addr}` for an anonymous one.
    pub fn admit(
        self: &Arc<Self>,
        key: String,
        mut info: ConnectionInfo,
        grant: Grant,
    ) -> Result<ConnectionGuard, TooManyStreams> {
        let max = if key.starts_with("ip:") {
            self.max_per_address
        } else {
            self.max_per_principal
        };
        {
            let mut count = self.per_principal.entry(key.clone()).or_insert(0);
            if *count >= max {
                return Err(TooManyStreams(max));
            }
            *count += 1;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        info.id = id;
        // A long-poll connects and leaves once per poll: those lines are debug.
        macro_rules! connected {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    conn = id,
                    user_id = info.user_id.unwrap_or(0),
                    role = info.role.map_or("visitor", Role::as_str),
                    transport = info.transport.as_str(),
                    remote = %remote_text(info.remote_addr),
                    "connected"
                )
            };
        }
        if info.transport == Transport::LongPoll {
            connected!(tracing::Level::DEBUG);
        } else {
            connected!(tracing::Level::INFO);
        }
        if let Some(s) = &grant.session {
            self.expiries_lock().insert((s.expires_at, id));
        }
        self.open.insert(
            id,
            Box::new(Entry {
                info,
                grant,
                closer: None,
                ended: false,
            }),
        );
        Ok(ConnectionGuard {
            registry: Arc::clone(self),
            id,
            key,
            opened: Instant::now(),
        })
    }

    /// Every open connection, oldest first; only `user_id`'s when given.
    pub fn list(&self, user_id: Option<i64>) -> Vec<ConnectionInfo> {
        let mut all: Vec<ConnectionInfo> = self
            .open
            .iter()
            .filter(|e| user_id.is_none() || e.info.user_id == user_id)
            .map(|e| e.info.clone())
            .collect();
        all.sort_by_key(|c| c.id);
        all
    }

    pub fn count(&self, transport: Transport) -> usize {
        self.open
            .iter()
            .filter(|e| e.info.transport == transport)
            .count()
    }

    /// Ends connection `id` (its feed ends; its task unregisters it). Returns
    /// whether it was open.
    pub fn end(&self, id: u64, why: &'static str) -> bool {
        let Some(mut e) = self.open.get_mut(&id) else {
            return false;
        };
        if e.ended {
            return true;
        }
        e.ended = true;
        tracing::info!(
            conn = id,
            user_id = e.info.user_id,
            why,
            "ending connection"
        );
        if let Some(closer) = &e.closer {
            closer.close();
        }
        true
    }

    /// Ends every open connection of `user_id` here; returns how many.
    pub fn end_user(&self, user_id: i64, why: &'static str) -> usize {
        let ids: Vec<u64> = self
            .open
            .iter()
            .filter(|e| e.info.user_id == Some(user_id))
            .map(|e| *e.key())
            .collect();
        ids.into_iter().filter(|id| self.end(*id, why)).count()
    }

    /// Checks the connections of `user` (of everyone for `None`) against the
    /// database: each whose session is gone, or whose user's role or stores
    /// changed, is ended.
    pub async fn recheck(&self, db: &Db, user: Option<i64>, now: i64) -> anyhow::Result<()> {
        /// A signed-in connection as it was opened.
        struct Target {
            id: u64,
            user_id: i64,
            role: Option<Role>,
            stores: Vec<i64>,
            session: String,
        }
        let targets: Vec<Target> = self
            .open
            .iter()
            .filter(|e| !e.ended)
            .filter_map(|e| {
                let user_id = e.info.user_id?;
                let session = e.grant.session.as_ref()?;
                (user.is_none() || user == Some(user_id)).then(|| Target {
                    id: *e.key(),
                    user_id,
                    role: e.info.role,
                    stores: e.grant.stores.clone(),
                    session: session.hash.clone(),
                })
            })
            .collect();
        // Each session and each owner's stores are read once per check.
        let mut roles: HashMap<String, Option<Role>> = HashMap::new();
        let mut stores: HashMap<i64, Vec<i64>> = HashMap::new();
        for t in targets {
            let role = match roles.get(&t.session) {
                Some(r) => *r,
                None => {
                    let found = db.session_by_hash(&t.session, now, false).await?;
                    let r = found.map(|(p, _)| p.role);
                    roles.insert(t.session.clone(), r);
                    r
                }
            };
            let why = match role {
                None => Some("session ended"),
                Some(r) if Some(r) != t.role => Some("role changed"),
                Some(Role::Owner) => {
                    let now_stores = match stores.get(&t.user_id) {
                        Some(s) => s,
                        None => {
                            let s = db.staff_store_ids(t.user_id).await?;
                            stores.entry(t.user_id).or_insert(s)
                        }
                    };
                    (*now_stores != t.stores).then_some("stores changed")
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                self.end(t.id, why);
            }
        }
        Ok(())
    }

    /// Ends every connection whose session expired at or before `now`.
    pub fn expire(&self, now: i64) -> usize {
        let due: Vec<u64> = {
            let mut expiries = self.expiries_lock();
            let mut due = Vec::new();
            while let Some(&(at, id)) = expiries.first() {
                if at > now {
                    break;
                }
                expiries.pop_first();
                due.push(id);
            }
            due
        };
        due.into_iter()
            .filter(|id| self.end(*id, "session expired"))
            .count()
    }

    fn expiries_lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<(i64, u64)>> {
        self.expiries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ConnectionGuard {
    /// Hands the registry what ends this connection's feed (once subscribed); a
    /// connection ended meanwhile is ended at once.
    pub fn attach(&self, closer: Closer) {
        if let Some(mut e) = self.registry.open.get_mut(&self.id) {
            if e.ended {
                closer.close();
            }
            e.closer = Some(closer);
        }
    }

    /// Ends this connection (its session turned out to be gone as it opened).
    pub fn end(&self, why: &'static str) {
        self.registry.end(self.id, why);
    }
}

/// Keeps every connection within its session (see the module doc) until
/// `shutdown`: re-checks a user's connections whenever the session cache forgets
/// that user (everyone's when it forgets everything, or when this task fell
/// behind), and ends connections whose session expired by `clock`.
pub async fn watch(
    connections: Arc<Connections>,
    db: Db,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let mut changes = db.session_cache().subscribe();
    let mut tick = tokio::time::interval(EXPIRY_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let user = tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {
                connections.expire(clock.now().timestamp_millis());
                continue;
            }
            change = changes.recv() => match change {
                Ok(SessionChange::User(id)) => Some(id),
                Ok(SessionChange::All) | Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => return,
            },
        };
        let now = clock.now().timestamp_millis();
        if let Err(e) = connections.recheck(&db, user, now).await {
            tracing::warn!(error = %e, user_id = user, "re-checking connections failed");
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let entry = self.registry.open.remove(&self.id).map(|(_, e)| e);
        self.registry
            .per_principal
            .remove_if_mut(&self.key, |_, n| {
                *n = n.saturating_sub(1);
                *n == 0
            });
        if let Some(e) = entry {
            if let Some(s) = &e.grant.session {
                self.registry
                    .expiries_lock()
                    .remove(&(s.expires_at, self.id));
            }
            macro_rules! disconnected {
                ($level:expr) => {
                    tracing::event!(
                        $level,
                        conn = self.id,
                        user_id = e.info.user_id.unwrap_or(0),
                        transport = e.info.transport.as_str(),
                        ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "disconnected"
                    )
                };
            }
            if e.info.transport == Transport::LongPoll {
                disconnected!(tracing::Level::DEBUG);
            } else {
                disconnected!(tracing::Level::INFO);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_key_reads_as_the_address_does() {
        let addrs = [
            None,
            Some("0.0.0.0"),
            Some("127.0.0.1"),
            Some("10.0.100.9"),
            Some("255.255.255.255"),
            Some("::1"),
            Some("2001:db8::8a2e:370:7334"),
        ];
        for a in addrs {
            let ip = a.map(|a| a.parse::<IpAddr>().unwrap());
            assert_eq!(address_key(ip), format!("ip:{}", remote_text(ip)));
        }
    }

    fn info() -> ConnectionInfo {
        ConnectionInfo {
            id: 0,
            user_id: Some(1),
            name: None,
            role: Some(Role::Customer),
            transport: Transport::Sse,
            since: 0,
            remote_addr: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        }
    }

    #[test]
    fn the_cap_is_per_principal_and_released_on_drop() {
        let reg = Arc::new(Connections::new(2, 3));
        let g = Grant::default;
        let a = reg.admit("user:1".into(), info(), g()).unwrap();
        let _b = reg.admit("user:1".into(), info(), g()).unwrap();
        assert!(reg.admit("user:1".into(), info(), g()).is_err());
        let _c = reg.admit("user:2".into(), info(), g()).unwrap();
        assert_eq!(reg.list(None).len(), 3);
        assert_eq!(reg.list(Some(1)).len(), 3);
        assert!(reg.list(Some(2)).is_empty());
        drop(a);
        assert!(reg.admit("user:1".into(), info(), g()).is_ok());
    }

    #[test]
    fn anonymous_readers_have_their_own_cap_per_address() {
        let reg = Arc::new(Connections::new(1, 3));
        let held: Vec<_> = (0..3)
            .map(|_| reg.admit("ip:10.0.0.1".into(), info(), Grant::default()))
            .collect();
        assert!(held.iter().all(Result::is_ok));
        assert!(
            reg.admit("ip:10.0.0.1".into(), info(), Grant::default())
                .is_err()
        );
        assert!(
            reg.admit("ip:10.0.0.2".into(), info(), Grant::default())
                .is_ok()
        );
    }

    #[test]
    fn expiry_ends_only_the_sessions_that_are_due() {
        let reg = Arc::new(Connections::new(8, 8));
        let grant = |at| Grant {
            session: Some(SessionRef {
                hash: format!("h{at}"),
                expires_at: at,
            }),
            stores: Vec::new(),
        };
        let soon = reg.admit("user:1".into(), info(), grant(100)).unwrap();
        let later = reg.admit("user:1".into(), info(), grant(200)).unwrap();
        assert_eq!(reg.expire(99), 0);
        assert_eq!(reg.expire(100), 1);
        assert!(reg.open.get(&soon.id).unwrap().ended);
        assert!(!reg.open.get(&later.id).unwrap().ended);
        drop(later);
        assert_eq!(reg.expire(1_000), 0, "a closed connection is forgotten");
    }
}
