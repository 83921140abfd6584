//! `GET /api/v1/events` through actix: Server-Sent Events.
//!
//! A stream that is the first request of its connection is served by the lean
//! path ([`super::edge::sse`]); this handler serves the others (a stream after other
//! requests on a keep-alive connection). Both write what [`protocol`] says: the
//! same headers, preamble, event blocks, batching and heartbeat rule. The stream
//! ends when the client goes, when its queue overflows (it resumes with
//! `Last-Event-ID`), or at shutdown.

use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use bytes::Bytes;

use super::feed_request;
use super::protocol::sse::{self as protocol, Heartbeat};
use crate::auth::stream::MaybeCaller;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::Feed;
use crate::events::params::StreamQuery;
use crate::state::AppState;

/// Opens the reader's feed and streams it until it ends (see the module doc).
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "sse"))]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: MaybeCaller,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(c) = &caller.0 {
        tracing::Span::current().record("user_id", c.principal.user_id);
    }
    let push = &state.settings.push;
    let request = feed_request(&req, caller.0, query.into_inner());
    let (feed, opening) = Feed::open(&state.feeds, request, Transport::Sse).await?;
    let preamble = protocol::preamble(&feed, &opening, push.retry);
    let heartbeat = Heartbeat::new(push.heartbeat);
    let timer = Box::pin(heartbeat.timer());
    let (retry, spread) = (push.retry, push.restart_spread);
    let body = futures_util::stream::unfold(
        (feed, Some(preamble), timer, heartbeat, false),
        move |(mut feed, mut first, mut timer, mut heartbeat, done)| async move {
            if done {
                return None;
            }
            if let Some(bytes) = first.take() {
                let next = (feed, None, timer, heartbeat, false);
                return Some((Ok::<_, std::convert::Infallible>(bytes), next));
            }
            let bytes = loop {
                tokio::select! {
                    next = feed.next(true) => {
                        let Some(first) = protocol::first_event(next) else {
                            // The server stops: say when to come back, then end.
                            let bye = feed.shutting_down().then(|| protocol::farewell(retry, spread))?;
                            return Some((Ok(bye), (feed, None, timer, heartbeat, true)));
                        };
                        heartbeat.wrote();
                        break protocol::with_ready(first, &mut feed).await;
                    }
                    () = &mut timer => {
                        if let Some(comment) = heartbeat.fired(timer.as_mut()) {
                            break comment;
                        }
                    }
                }
            };
            Some((Ok(bytes), (feed, None::<Bytes>, timer, heartbeat, false)))
        },
    );
    Ok(response().streaming(body))
}

/// The stream's response, but for its body: [`protocol::HEADERS`].
pub fn response() -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    for header in protocol::HEADERS {
        response.insert_header(header);
    }
    response
}
