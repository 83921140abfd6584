//! `GET /api/v1/events`: Server-Sent Events.
//!
//! The response starts with a `retry:` hint and a `stream.open` event whose `id:` is
//! the reader's cursor (so even a client that got nothing yet can resume), then one
//! `id:`/`event:`/`data:` block per event, and a comment heartbeat while idle. The
//! stream ends when the client goes, when its queue overflows (it resumes with
//! `Last-Event-ID`), or at shutdown.
//!
//! A stream that is the first request of its connection is served by the lean path
//! in [`super::edge`]; this handler serves the others (a stream after other requests
//! on a keep-alive connection). Both write the same bytes: each event's block is
//! built once ([`Event::frame`]) and shared by every reader.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::ContentEncoding;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};

use super::Event;
use super::connections::Transport;
use super::feed::{Feed, FeedRequest, Opening};
use super::params::StreamQuery;
use crate::auth::MaybePrincipal;
use crate::error::ApiError;
use crate::state::AppState;

/// The heartbeat comment.
pub const HEARTBEAT: &[u8] = b": keep-alive\n\n";

/// Most bytes gathered into one write when several events are ready at once.
const BATCH_BYTES: usize = 64 * 1024;

#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "sse"))]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(p) = &principal.0 {
        tracing::Span::current().record("user_id", p.user_id);
    }
    let push = state.settings.push.clone();
    let request = FeedRequest::from_http(&req, principal.0, query.into_inner());
    let (feed, opening) = Feed::open(state, request, Transport::Sse).await?;
    let preamble = preamble(&feed, &opening, push.retry);
    let beat = Box::pin(tokio::time::sleep(push.heartbeat));
    let body = futures_util::stream::unfold(
        (feed, Some(preamble), beat),
        move |(mut feed, mut first, mut beat)| async move {
            if let Some(bytes) = first.take() {
                return Some((Ok::<_, std::convert::Infallible>(bytes), (feed, None, beat)));
            }
            let bytes = tokio::select! {
                next = feed.next(true) => with_ready(first_event(next)?, &mut feed).await,
                () = &mut beat => Bytes::from_static(HEARTBEAT),
            };
            beat.as_mut()
                .reset(tokio::time::Instant::now() + push.heartbeat);
            Some((Ok(bytes), (feed, None, beat)))
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(ContentEncoding::Identity)
        .insert_header(("Cache-Control", "no-cache, no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// What every stream starts with: the `retry:` hint, `stream.open`, and
/// `stream.reset` when the client's cursor is gone.
pub fn preamble(feed: &Feed, opening: &Opening, retry: Duration) -> Bytes {
    let open = Feed::open_event(opening);
    let reset = opening.reset.then(|| feed.reset_event());
    let mut out = BytesMut::with_capacity(
        32 + open.frame.len() + reset.as_ref().map_or(0, |r| r.frame.len()),
    );
    out.extend_from_slice(format!("retry: {}\n\n", retry.as_millis()).as_bytes());
    out.extend_from_slice(&open.frame);
    if let Some(r) = reset {
        out.extend_from_slice(&r.frame);
    }
    out.freeze()
}

/// The event [`Feed::next`] gave, or `None` when the feed is cut (overflow or
/// shutdown) or failed: the stream ends and the client resumes.
pub fn first_event(next: Result<Option<Arc<Event>>, ApiError>) -> Option<Arc<Event>> {
    match next {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "stream ended by an error");
            None
        }
    }
}

/// `first` and whatever else is ready without waiting, as one buffer to write at
/// once (the event's shared block itself when nothing else is ready). Not to be
/// cancelled: it holds events already taken from the feed.
pub async fn with_ready(first: Arc<Event>, feed: &mut Feed) -> Bytes {
    let Some(second) = ready(feed).await else {
        return first.frame.clone();
    };
    let mut out = BytesMut::with_capacity(first.frame.len() + second.frame.len() * 4);
    out.extend_from_slice(&first.frame);
    out.extend_from_slice(&second.frame);
    while out.len() < BATCH_BYTES {
        match ready(feed).await {
            Some(e) => out.extend_from_slice(&e.frame),
            None => break,
        }
    }
    out.freeze()
}

/// The next event if one is ready now. An error here ends the batch; the next
/// [`Feed::next`] meets it again and ends the stream.
async fn ready(feed: &mut Feed) -> Option<Arc<Event>> {
    feed.next(false).await.ok().flatten()
}
