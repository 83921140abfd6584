//! `GET /api/v1/events` through actix: Server-Sent Events.
//!
//! Every plain stream request (a GET without a body, on a fresh connection or
//! after other requests on a kept-alive one) is served by the lean path
//! ([`super::edge`]); this handler serves what actix keeps (a request with
//! `Expect` or `Upgrade`, a head larger than the lean path reads, a body, which is
//! refused). Both write what [`protocol`] says: the same headers, preamble, event
//! blocks, batching and heartbeat rule, through the same loop step
//! ([`protocol::next_chunk`]).

use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};

use super::protocol::sse::{self as protocol, Heartbeat};
use super::request::feed_request;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::Feed;
use crate::state::AppState;

/// Opens the reader's feed and streams it until it ends (see the module doc).
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "sse"))]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let push = &state.settings.push;
    let request = feed_request(&state, req.headers(), req.query_string(), req.peer_addr()).await?;
    let (feed, opening) = Feed::open(&state.feeds, request, Transport::Sse).await?;
    let preamble = protocol::preamble(&feed, &opening, push.retry);
    let heartbeat = Heartbeat::new(push.heartbeat);
    let timer = Box::pin(heartbeat.timer());
    let first =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(preamble) });
    let (retry, spread) = (push.retry, push.restart_spread);
    let rest = futures_util::stream::unfold(
        (feed, timer, heartbeat, false),
        move |(mut feed, mut timer, mut heartbeat, done)| async move {
            if done {
                return None;
            }
            let gone = std::future::pending();
            let Some((bytes, _)) =
                protocol::next_chunk(&mut feed, &mut heartbeat, timer.as_mut(), gone).await
            else {
                // The server stops: say when to come back, then end.
                let bye = feed
                    .shutting_down()
                    .then(|| protocol::farewell(retry, spread))?;
                return Some((Ok(bye), (feed, timer, heartbeat, true)));
            };
            Some((Ok(bytes), (feed, timer, heartbeat, false)))
        },
    );
    use futures_util::StreamExt;
    Ok(response().streaming(first.chain(rest)))
}

/// The stream's response, but for its body: [`protocol::HEADERS`].
pub fn response() -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    for header in protocol::HEADERS {
        response.insert_header(header);
    }
    response
}
