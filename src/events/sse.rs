//! `GET /api/v1/events`: Server-Sent Events.
//!
//! The response starts with a `retry:` hint and a `stream.open` event whose `id:` is
//! the reader's cursor (so even a client that got nothing yet can resume), then one
//! `id:`/`event:`/`data:` block per event, and a comment heartbeat while idle. The
//! stream ends when the client goes, when its queue overflows (it resumes with
//! `Last-Event-ID`), or at shutdown.

use std::collections::VecDeque;
use std::convert::Infallible;

use actix_web::{HttpRequest, Responder, web};
use actix_web_lab::sse;

use super::Event;
use super::connections::Transport;
use super::feed::Feed;
use super::params::StreamQuery;
use crate::auth::MaybePrincipal;
use crate::error::ApiError;
use crate::state::AppState;

#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "sse"))]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    query: web::Query<StreamQuery>,
) -> Result<impl Responder, ApiError> {
    if let Some(p) = &principal.0 {
        tracing::Span::current().record("user_id", p.user_id);
    }
    let push = state.settings.push.clone();
    let (feed, opening) = Feed::open(state, &req, principal.0, &query, Transport::Sse).await?;
    let mut first = VecDeque::from([Feed::open_event(&opening)]);
    if opening.reset {
        first.push_back(feed.reset_event());
    }
    let events = futures_util::stream::unfold((feed, first), |(mut feed, mut first)| async move {
        if let Some(e) = first.pop_front() {
            return Some((Ok::<_, Infallible>(frame(&e)), (feed, first)));
        }
        match feed.next(true).await {
            Ok(Some(e)) => Some((Ok(frame(&e)), (feed, first))),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "stream ended by an error");
                None
            }
        }
    });
    Ok(sse::Sse::from_stream(events)
        .with_keep_alive(push.heartbeat)
        .with_retry_duration(push.retry)
        .customize()
        .insert_header(("Cache-Control", "no-cache, no-store"))
        .insert_header(("X-Accel-Buffering", "no")))
}

/// One SSE block; the envelope was serialised once for all readers.
fn frame(e: &Event) -> sse::Event {
    sse::Data::new(e.json.clone())
        .id(e.id_text.clone())
        .event(e.event_type.clone())
        .into()
}
