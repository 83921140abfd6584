//! `GET /api/v1/events/poll` through actix: long-poll.
//!
//! Most long-polls are served by the lean path ([`super::edge::poll`]); this
//! handler serves the rest (HTTP/1.0, `Expect` or `Upgrade`, a head larger than the
//! lean path reads, a body, which is refused). Both go through
//! [`super::request::feed_request`] and answer with [`protocol::answer`] and
//! [`protocol::HEADERS`], so they answer alike.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};

use super::protocol::poll::{self as protocol, Waited};
use super::request::feed_request;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::Feed;
use crate::state::AppState;

/// Opens the reader's feed for one answer (see the module doc).
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "long_poll"))]
pub async fn poll(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let request = feed_request(&state, req.headers(), req.query_string(), req.peer_addr()).await?;
    let timeout = protocol::timeout_of(&request.query, &state.settings.push)?;
    let limit = state.settings.push.batch_limit;
    let metrics = Arc::clone(&state.metrics);
    let (mut feed, opening) = Feed::open(&state.feeds, request, Transport::LongPoll).await?;
    let waited = Waited {
        started,
        metrics: &metrics,
    };
    let gone = std::future::pending();
    let body = protocol::answer(&mut feed, &opening, timeout, limit, waited, gone).await?;
    Ok(response(body))
}

/// A poll's answer: [`protocol::HEADERS`] and `body`.
pub fn response(body: String) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for header in protocol::HEADERS {
        response.insert_header(header);
    }
    response.body(body)
}
