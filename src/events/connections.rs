//! Who is connected: open streams and waiting long-polls, with a per-principal cap.
//!
//! The registry doubles as presence (`GET /admin/connections`) and as the tracing
//! record of each connection's life (opened with who and how, closed with how long).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use dashmap::DashMap;
use serde::Serialize;

use crate::auth::Role;

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
    /// RFC 3339.
    pub since: String,
    pub remote_addr: String,
}

/// The registry. Shared by every worker.
pub struct Connections {
    next_id: AtomicU64,
    open: DashMap<u64, ConnectionInfo>,
    /// Principal key (`user:{id}` or `ip:{addr}`) -> connections it holds.
    per_principal: DashMap<String, usize>,
    max_per_principal: usize,
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
    pub fn new(max_per_principal: usize) -> Self {
        Self {
            next_id: AtomicU64::new(1),
            open: DashMap::new(),
            per_principal: DashMap::new(),
            max_per_principal,
        }
    }

    /// Registers a connection, or refuses it when its principal is at the cap.
    pub fn admit(
        self: &Arc<Self>,
        key: String,
        mut info: ConnectionInfo,
    ) -> Result<ConnectionGuard, TooManyStreams> {
        {
            let mut count = self.per_principal.entry(key.clone()).or_insert(0);
            if *count >= self.max_per_principal {
                return Err(TooManyStreams(self.max_per_principal));
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
                    remote = %info.remote_addr,
                    "connected"
                )
            };
        }
        if info.transport == Transport::LongPoll {
            connected!(tracing::Level::DEBUG);
        } else {
            connected!(tracing::Level::INFO);
        }
        self.open.insert(id, info);
        Ok(ConnectionGuard {
            registry: Arc::clone(self),
            id,
            key,
            opened: Instant::now(),
        })
    }

    /// Every open connection, oldest first.
    pub fn list(&self) -> Vec<ConnectionInfo> {
        let mut all: Vec<ConnectionInfo> = self.open.iter().map(|e| e.value().clone()).collect();
        all.sort_by_key(|c| c.id);
        all
    }

    pub fn count(&self, transport: Transport) -> usize {
        self.open
            .iter()
            .filter(|e| e.transport == transport)
            .count()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let info = self.registry.open.remove(&self.id).map(|(_, i)| i);
        self.registry
            .per_principal
            .remove_if_mut(&self.key, |_, n| {
                *n = n.saturating_sub(1);
                *n == 0
            });
        if let Some(info) = info {
            macro_rules! disconnected {
                ($level:expr) => {
                    tracing::event!(
                        $level,
                        conn = self.id,
                        user_id = info.user_id.unwrap_or(0),
                        transport = info.transport.as_str(),
                        ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "disconnected"
                    )
                };
            }
            if info.transport == Transport::LongPoll {
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

    fn info() -> ConnectionInfo {
        ConnectionInfo {
            id: 0,
            user_id: Some(1),
            name: None,
            role: Some(Role::Customer),
            transport: Transport::Sse,
            since: String::new(),
            remote_addr: "127.0.0.1".into(),
        }
    }

    #[test]
    fn the_cap_is_per_principal_and_released_on_drop() {
        let reg = Arc::new(Connections::new(2));
        let a = reg.admit("user:1".into(), info()).unwrap();
        let _b = reg.admit("user:1".into(), info()).unwrap();
        assert!(reg.admit("user:1".into(), info()).is_err());
        let _c = reg.admit("user:2".into(), info()).unwrap();
        assert_eq!(reg.list().len(), 3);
        drop(a);
        assert!(reg.admit("user:1".into(), info()).is_ok());
    }
}
