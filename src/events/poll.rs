//! `GET /api/v1/events/poll`: long-poll.
//!
//! Answers at once with everything pending after `cursor` (up to a batch), else
//! waits until an event arrives (woken by the hub, not by polling the database), else
//! answers at the timeout. Always `200 {"events": [...], "cursor": N}`, so a shell
//! loop only has to feed `cursor` back.
//!
//! Most long-polls are served by the lean path ([`super::edge_poll`]); this actix
//! handler serves the rest (a poll after another request on a connection, HTTP/1.0,
//! a GET with a body). Both call [`timeout_of`] and [`answer`], so they answer alike.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};

use super::Event;
use super::connections::Transport;
use super::feed::{Feed, FeedRequest, Opening};
use super::params::{self, StreamQuery};
use crate::auth::MaybePrincipal;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::settings::PushSettings;
use crate::state::AppState;

/// The answer's `Content-Type` (the lean path writes the same, see
/// [`super::edge_poll`]).
pub const CONTENT_TYPE: &str = "application/json";
/// The answer's `Cache-Control`: a poll's answer is never to be reused.
pub const CACHE_CONTROL: &str = "no-cache, no-store";

#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "long_poll"))]
pub async fn poll(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(p) = &principal.0 {
        tracing::Span::current().record("user_id", p.user_id);
    }
    let timeout = timeout_of(&query, &state.settings.push)?;
    let limit = state.settings.push.batch_limit;
    let metrics = Arc::clone(&state.metrics);
    let started = Instant::now();
    let request = FeedRequest::from_http(&req, principal.0, query.into_inner());
    let (mut feed, opening) = Feed::open(state, request, Transport::LongPoll).await?;
    let waited = Waited {
        started,
        metrics: &metrics,
    };
    let body = answer(
        &mut feed,
        &opening,
        timeout,
        limit,
        waited,
        std::future::pending(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", CACHE_CONTROL))
        .body(body))
}

/// The poll's `timeout` parameter (a 400 when malformed or above the maximum).
pub fn timeout_of(query: &StreamQuery, push: &PushSettings) -> Result<Duration, ApiError> {
    params::parse_timeout(query.timeout.as_deref(), push.max_poll_timeout)
        .map_err(|e| ApiError::bad_request("bad_timeout", e.to_string()))
}

/// Where the wait is accounted: `poll_wait` from `started`, and `poll_timeouts`.
pub struct Waited<'a> {
    pub started: Instant,
    pub metrics: &'a Metrics,
}

/// The JSON body of one poll's answer once its feed is open: what is pending now,
/// else the first event within `timeout` and whatever follows it at once (up to
/// `limit`), else nothing. The wait also ends when `gone` resolves (the client
/// closed its connection), so an abandoned poll holds its feed no longer.
pub async fn answer(
    feed: &mut Feed,
    opening: &Opening,
    timeout: Duration,
    limit: usize,
    waited: Waited<'_>,
    gone: impl Future<Output = ()>,
) -> Result<String, ApiError> {
    let mut events: Vec<Arc<Event>> = Vec::new();
    // The client went before the timeout: not a timeout.
    let mut left = false;
    if opening.reset {
        events.push(Arc::new(feed.reset_event()));
    } else {
        drain(feed, &mut events, limit).await?;
        if events.is_empty() && !timeout.is_zero() {
            let first = tokio::select! {
                first = tokio::time::timeout(timeout, feed.next(true)) => first.ok(),
                () = gone => {
                    left = true;
                    None
                }
            };
            if let Some(first) = first
                && let Some(e) = first?
            {
                events.push(e);
                drain(feed, &mut events, limit).await?;
            }
        }
    }
    waited.metrics.poll_wait.observe(waited.started.elapsed());
    if events.is_empty() && !timeout.is_zero() && !left {
        waited.metrics.poll_timeouts.inc();
    }
    let mut body =
        String::with_capacity(48 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    body.push_str(r#"{"events":["#);
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    // Writing to a String cannot fail.
    let _ = write!(body, r#"],"cursor":{}}}"#, feed.cursor());
    Ok(body)
}

/// Takes everything ready now, without waiting, up to `limit`.
async fn drain(feed: &mut Feed, out: &mut Vec<Arc<Event>>, limit: usize) -> Result<(), ApiError> {
    while out.len() < limit {
        match feed.next(false).await? {
            Some(e) => out.push(e),
            None => break,
        }
    }
    Ok(())
}
