//! A reader's ordered view of its channels: backlog first, then live events.
//!
//! Opening registers with the hub *before* reading any backlog, so an event is
//! either in the backlog (ring or log) or on the queue; the overlap is dropped by id,
//! and events are only ever handed out in increasing id order.
//!
//! No HTTP here: a transport (`crate::transport`) takes a [`FeedRequest`] out of
//! its request, opens the feed over the shared [`Feeds`], and maps a
//! [`FeedError`] to its answer in one place.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde_json::json;

use super::connections::{
    ConnectionGuard, ConnectionInfo, Connections, Grant, TooManyStreams, Transport,
};
use super::hub::{Hub, Subscription};
use super::params::{self, ParamError, StreamQuery, Topic, TypeFilter};
use super::queue::TryRecv;
use super::{Event, channel, types};
use crate::auth::keys::Scope;
use crate::auth::{Principal, Role, SessionRef};
use crate::db::Db;
use crate::db::events::ChannelSet;

/// Why a feed did not open, or ended.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A malformed `cursor` (or `Last-Event-ID`), `topics` or `types`.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Neither a principal's channels nor a public topic: nothing to read.
    #[error("nothing to read: sign in, or name a public topic (products, announcements)")]
    NoChannels,
    /// The principal holds as many streams as it may.
    #[error(transparent)]
    TooManyStreams(#[from] TooManyStreams),
    /// Reading the log (or the reader's stores) failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The channels one reader may see (DESIGN.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct Audience {
    pub exact: Vec<String>,
    /// Admins read every `store:` channel, including stores created later.
    pub all_stores: bool,
}

impl Audience {
    /// A customer reads its `user:` channel, an owner also its stores', an admin also
    /// `admin` and every store's; everyone may add the public topics.
    pub fn of(principal: Option<&Principal>, staff_stores: &[i64], topics: &[Topic]) -> Self {
        let mut exact: Vec<String> = Vec::new();
        let mut all_stores = false;
        if principal.is_some_and(|p| p.key.is_some()) {
            // A key reads only its stores' channels (`staff_stores` holds them when
            // it has the read scope), never its creator's own.
            exact.extend(staff_stores.iter().map(|s| channel::store(*s)));
            exact.extend(topics.iter().map(|t| t.channel().to_string()));
            exact.shrink_to_fit();
            return Self { exact, all_stores };
        }
        if let Some(p) = principal {
            exact.push(channel::user(p.user_id));
            match p.role {
                Role::Customer => {}
                Role::Owner => exact.extend(staff_stores.iter().map(|s| channel::store(*s))),
                Role::Admin => {
                    exact.push(channel::ADMIN.into());
                    all_stores = true;
                }
            }
        }
        exact.extend(topics.iter().map(|t| t.channel().to_string()));
        // Kept for the reader's life: no spare slots (a first push reserves four).
        exact.shrink_to_fit();
        Self { exact, all_stores }
    }

    pub fn sees(&self, channel: &str) -> bool {
        (self.all_stores && channel.starts_with("store:"))
            || self.exact.iter().any(|c| c == channel)
    }

    fn hub_keys(&self) -> Vec<String> {
        let mut keys = self.exact.clone();
        if self.all_stores {
            keys.push(channel::ALL_STORES.into());
        }
        keys
    }
}

/// What [`Feed::poll_ready`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// `next(false)` has something to look at.
    Ready,
    /// The feed has ended and holds nothing more.
    Ended,
}

/// What the reader learns when its feed opens.
pub struct Opening {
    /// The cursor the feed starts after (the client's, or the current head).
    pub cursor: i64,
    /// The client's cursor is gone from the log: it should reload its state.
    pub reset: bool,
}

/// What a reader asked for, taken out of its request by whichever transport
/// received it (the actix handlers, or the lean paths off the socket).
pub struct FeedRequest {
    /// The `Last-Event-ID` header as text; `Some("?")` when it is not visible ASCII.
    pub cursor_header: Option<String>,
    /// The client's address, for the anonymous cap and the connection list.
    pub remote: Option<std::net::IpAddr>,
    pub principal: Option<Principal>,
    /// The session the principal came through: the feed ends when it does (see
    /// [`crate::events::connections`]).
    pub session: Option<SessionRef>,
    pub query: StreamQuery,
    /// Whether the same request again (the same credential) names the same
    /// reader for as long as the feed lives: no credential, or a session token,
    /// whose end ends the feed. Not a ticket (used up by this request), nor an
    /// API key or a JWT (a revoked key, or a JWT's user changed, is seen only by
    /// checking them again). A lean long-poll keeps such a feed open for the
    /// connection's next poll (`transport::edge::poll`).
    pub reusable: bool,
}

/// What every feed is opened over: built once at start-up, shared by all readers
/// (each feed holds one pointer to it).
pub struct Feeds {
    /// The log, for backlogs, and the reader's stores.
    db: Db,
    hub: Arc<Hub>,
    connections: Arc<Connections>,
    /// Most events read from the ring or the log at once.
    batch_limit: usize,
}

impl Feeds {
    /// Feeds over `db`'s log and `hub`, admitted by `connections`, reading at most
    /// `batch_limit` backlog events at once.
    pub fn new(db: Db, hub: Arc<Hub>, connections: Arc<Connections>, batch_limit: usize) -> Self {
        Self {
            db,
            hub,
            connections,
            batch_limit,
        }
    }

    /// A cursor the log can no longer serve: older than what was pruned, or newer
    /// than anything ever written (a different database).
    async fn cursor_is_gone(&self, cursor: i64, head: i64) -> anyhow::Result<bool> {
        if cursor > head {
            return Ok(cursor > self.db.log().head().await?);
        }
        // Everything after a cursor the ring covers is in memory: nothing to check.
        if self.hub.ring_covers(cursor) {
            return Ok(false);
        }
        Ok(cursor < self.db.log().pruned_through().await?)
    }
}

/// One reader's feed: its hub subscription, its backlog, its place in the log.
pub struct Feed {
    feeds: Arc<Feeds>,
    subscription: Subscription,
    audience: Audience,
    types: TypeFilter,
    /// Highest id handed out; anything at or below it is a duplicate.
    last_sent: i64,
    /// `Some(after)` while older events may still be waiting in the ring or log.
    backlog_after: Option<i64>,
    pending: VecDeque<Arc<Event>>,
    _guard: ConnectionGuard,
}

impl Feed {
    /// Authorises, admits and registers a reader, and works out where it starts.
    ///
    /// The request comes boxed: by value it would be kept twice in this future
    /// (as the argument and as its fields), and in every caller's, and a waiting
    /// long-poll's state is sized by its opening (docs/performance.md).
    pub async fn open(
        feeds: &Arc<Feeds>,
        request: Box<FeedRequest>,
        transport: Transport,
    ) -> Result<(Self, Opening), FeedError> {
        let FeedRequest {
            cursor_header,
            remote,
            principal,
            session,
            query,
            reusable: _,
        } = *request;
        let cursor = cursor_header
            .as_deref()
            .or(query.cursor.as_deref())
            .or(query.last_event_id.as_deref())
            .map(params::parse_cursor)
            .transpose()?;
        let topics = match &query.topics {
            Some(t) => params::parse_topics(t)?,
            None => Topic::ALL.to_vec(),
        };
        let types = match &query.types {
            Some(t) => TypeFilter::parse(t)?,
            None => TypeFilter::default(),
        };
        let staff_stores = match &principal {
            Some(p) if p.key.is_some() => key_stores(&feeds.db, p).await?,
            Some(p) if p.role == Role::Owner => feeds.db.staff_store_ids(p.user_id).await?,
            _ => Vec::new(),
        };
        let audience = Audience::of(principal.as_ref(), &staff_stores, &topics);
        if audience.exact.is_empty() && !audience.all_stores {
            return Err(FeedError::NoChannels);
        }

        let key = match &principal {
            Some(p) => format!("user:{}", p.user_id),
            None => super::connections::address_key(remote),
        };
        let info = ConnectionInfo {
            id: 0,
            user_id: principal.as_ref().map(|p| p.user_id),
            name: principal.as_ref().map(|p| p.name.clone()),
            role: principal.as_ref().map(|p| p.role),
            transport,
            since: crate::time::now_millis(),
            remote_addr: remote,
        };
        let grant = Grant {
            session: session.clone(),
            stores: staff_stores,
        };
        let guard = feeds.connections.admit(key, info, grant)?;

        let subscription = feeds.hub.subscribe(audience.hub_keys(), types.clone());
        guard.attach(subscription.closer());
        // A session ended between the caller's lookup and the registration above
        // was re-checked before this connection was there to end: look again (the
        // session cache answers unless that very change made it forget). Whether
        // it still exists is asked as of just before its expiry: expiry is the
        // registry's watch's to judge, by the app clock.
        if let Some(s) = &session
            && feeds
                .db
                .session_by_hash(&s.hash, s.expires_at.saturating_sub(1), true)
                .await?
                .is_none()
        {
            guard.end("session ended");
        }
        // A credential with an end of its own (a JWT's `exp`) ends the feed then,
        // through the same closer a session's end uses.
        if let Some(exp) = principal.as_ref().and_then(|p| p.expires_at) {
            let left = u64::try_from(exp - crate::time::now_millis()).unwrap_or(0);
            let (closer, watch) = (subscription.closer(), subscription.queue.watch());
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(left)) => closer.close(),
                    // Gone already: cut, shut down, or dropped by its reader.
                    () = watch.closed() => {}
                }
            });
        }
        let head = feeds.hub.head();
        let (start, reset) = match cursor {
            None => (head, false),
            Some(c) => (c, feeds.cursor_is_gone(c, head).await?),
        };
        let feed = Self {
            feeds: Arc::clone(feeds),
            subscription,
            audience,
            types,
            last_sent: if reset { head } else { start },
            // A cursor at or ahead of this instance's head (another instance is
            // ahead, or this tailer is a moment behind) has no backlog here: live
            // events at or below it are dropped as duplicates.
            backlog_after: (!reset && start < head).then_some(start),
            pending: VecDeque::new(),
            _guard: guard,
        };
        Ok((
            feed,
            Opening {
                cursor: start,
                reset,
            },
        ))
    }

    /// The id the reader is at now.
    pub fn cursor(&self) -> i64 {
        self.last_sent
    }

    /// Whether the hub has cut this feed off (its queue overflowed, the server is
    /// stopping, its session ended): whatever it still holds, events after it may
    /// be missing, so it must not carry on for another request.
    pub fn is_cut(&self) -> bool {
        self.subscription.queue.is_closed()
    }

    /// Whether the hub's ring still holds every event after this feed's cursor:
    /// then a feed opened now at that cursor would read its backlog from memory,
    /// with no question of the log having pruned it (see [`Feeds`]'
    /// `cursor_is_gone`).
    pub fn ring_covers_cursor(&self) -> bool {
        self.feeds.hub.ring_covers(self.last_sent)
    }

    /// The next event, waiting for one if `wait`; `None` when not waiting and nothing
    /// is ready, or when the feed is cut (queue overflow, shutdown).
    pub async fn next(&mut self, wait: bool) -> Result<Option<Arc<Event>>, FeedError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if e.id > self.last_sent && self.types.matches(&e.event_type) {
                    self.last_sent = e.id;
                    return Ok(Some(e));
                }
                continue;
            }
            if let Some(after) = self.backlog_after {
                // Boxed: the database read is a large future, and an unboxed one would
                // make every idle reader's state as large as the rare backlog read.
                Box::pin(self.load_backlog(after)).await?;
                continue;
            }
            // The queue ends (after what it holds) when the hub cuts this reader
            // off or shuts down.
            if !wait {
                match self.subscription.queue.try_recv() {
                    TryRecv::Event(e) => {
                        self.pending.push_back(e);
                        continue;
                    }
                    TryRecv::Empty | TryRecv::Closed => return Ok(None),
                }
            }
            match self.subscription.queue.recv().await {
                Some(e) => self.pending.push_back(e),
                None => return Ok(None),
            }
        }
    }

    /// Whether [`Feed::next`] has work without waiting: [`Readiness::Ready`] when
    /// an event may be there (queued, pending, or a backlog to read: `next(false)`
    /// then gives it, or `None` when none passes the reader's filter),
    /// [`Readiness::Ended`] when the feed has ended (cut off, shut down, session
    /// gone) with nothing left. Pending registers `cx` for the next event.
    ///
    /// What an idle lean stream waits on: a poll holds no future, where waiting
    /// in `next(true)` keeps that future (the backlog read's included) in every
    /// idle reader's state.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Readiness> {
        if !self.pending.is_empty() || self.backlog_after.is_some() {
            return Poll::Ready(Readiness::Ready);
        }
        match self.subscription.queue.poll_recv(cx) {
            Poll::Ready(Some(e)) => {
                self.pending.push_back(e);
                Poll::Ready(Readiness::Ready)
            }
            Poll::Ready(None) => Poll::Ready(Readiness::Ended),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Whether the server is stopping (the feed ended for that reason): a stream
    /// then says when to come back (`protocol::sse::farewell`).
    pub fn shutting_down(&self) -> bool {
        self.feeds.hub.shutdown_token().is_cancelled()
    }

    /// Ready once this feed is cut off (overflow, shutdown, its session ended),
    /// whatever it still holds: for a reader blocked on its client.
    pub fn poll_cut(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.subscription.queue.poll_closed(cx)
    }

    async fn load_backlog(&mut self, after: i64) -> Result<(), FeedError> {
        let limit = self.feeds.batch_limit;
        let audience = &self.audience;
        let page: Vec<Arc<Event>> = match self
            .feeds
            .hub
            .recent_after(after, limit, |e| audience.sees(&e.channel))
        {
            Some(events) => events,
            None => {
                let set = ChannelSet {
                    exact: &self.audience.exact,
                    all_stores: self.audience.all_stores,
                };
                self.feeds
                    .db
                    .log()
                    .backlog(&set, after, limit)
                    .await?
                    .iter()
                    .map(|s| Arc::new(Event::from_stored(s)))
                    .collect()
            }
        };
        self.backlog_after = match page.last() {
            Some(last) if page.len() >= limit => Some(last.id),
            _ => None,
        };
        self.pending.extend(page);
        Ok(())
    }

    /// The `stream.open` event for [`Opening`].
    pub fn open_event(opening: &Opening) -> Event {
        Event::control(
            types::STREAM_OPEN,
            opening.cursor,
            json!({ "cursor": opening.cursor }),
        )
    }

    /// The `stream.reset` event: the client's cursor is gone; resume from `cursor`.
    pub fn reset_event(&self) -> Event {
        Event::control(
            types::STREAM_RESET,
            self.last_sent,
            json!({ "cursor": self.last_sent, "reason": "cursor is older than the event log's retention; reload your state" }),
        )
    }
}

/// The stores whose channels an API key reads: with the read scope, those of its
/// stores where it may still act (an owner's key loses a store its owner left).
async fn key_stores(db: &Db, p: &Principal) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    let Some(k) = &p.key else { return Ok(ids) };
    if k.has(Scope::Read) {
        for &s in &k.store_ids {
            if db.is_staff_of(p, s).await? {
                ids.push(s);
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role) -> Principal {
        Principal::person(7, role, "x".into())
    }

    #[test]
    fn each_role_reads_its_channels() {
        let c = Audience::of(Some(&p(Role::Customer)), &[], &Topic::ALL);
        assert_eq!(c.exact, vec!["user:7", "products", "announcements"]);
        assert!(!c.sees("store:1") && !c.sees("user:8") && !c.sees("admin"));

        let o = Audience::of(Some(&p(Role::Owner)), &[1, 2], &[]);
        assert!(o.sees("store:1") && o.sees("store:2") && !o.sees("store:3"));
        assert!(!o.sees("products"));

        let a = Audience::of(Some(&p(Role::Admin)), &[], &[Topic::Products]);
        assert!(a.sees("store:99") && a.sees("admin") && a.sees("products"));
        assert!(!a.sees("announcements") && !a.sees("user:8"));

        let v = Audience::of(None, &[], &Topic::ALL);
        assert_eq!(v.exact, vec!["products", "announcements"]);
    }
}
