//! `GET /api/v1/events/poll`: long-poll.
//!
//! Answers at once with everything pending after `cursor` (up to a batch), else
//! waits until an event arrives (woken by the hub, not by polling the database), else
//! answers at the timeout. Always `200 {"events": [...], "cursor": N}`, so a shell
//! loop only has to feed `cursor` back.

use actix_web::{HttpRequest, HttpResponse, web};

use super::Event;
use super::connections::Transport;
use super::feed::Feed;
use super::params::{self, StreamQuery};
use crate::auth::MaybePrincipal;
use crate::error::ApiError;
use crate::state::AppState;

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
    let timeout = params::parse_timeout(
        query.timeout.as_deref(),
        state.settings.push.max_poll_timeout,
    )
    .map_err(|e| ApiError::bad_request("bad_timeout", e.to_string()))?;
    let limit = state.settings.push.batch_limit;
    let metrics = std::sync::Arc::clone(&state.metrics);
    let started = std::time::Instant::now();
    let (mut feed, opening) =
        Feed::open(state, &req, principal.0, &query, Transport::LongPoll).await?;

    let mut events: Vec<std::sync::Arc<Event>> = Vec::new();
    if opening.reset {
        events.push(std::sync::Arc::new(feed.reset_event()));
    } else {
        drain(&mut feed, &mut events, limit).await?;
        if events.is_empty()
            && !timeout.is_zero()
            && let Ok(first) = tokio::time::timeout(timeout, feed.next(true)).await
            && let Some(e) = first?
        {
            events.push(e);
            drain(&mut feed, &mut events, limit).await?;
        }
    }
    metrics.poll_wait.observe(started.elapsed());
    if events.is_empty() && !timeout.is_zero() {
        metrics.poll_timeouts.inc();
    }
    let mut body =
        String::with_capacity(32 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    body.push_str(r#"{"events":["#);
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push_str(&format!(r#"],"cursor":{}}}"#, feed.cursor()));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-cache, no-store"))
        .body(body))
}

/// Takes everything ready now, without waiting, up to `limit`.
async fn drain(
    feed: &mut Feed,
    out: &mut Vec<std::sync::Arc<Event>>,
    limit: usize,
) -> Result<(), ApiError> {
    while out.len() < limit {
        match feed.next(false).await? {
            Some(e) => out.push(e),
            None => break,
        }
    }
    Ok(())
}
