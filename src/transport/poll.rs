//! `GET /api/v1/events/poll` through actix: long-poll.
//!
//! Most long-polls are served by the lean path ([`super::edge::poll`]); this
//! handler serves the rest (a poll after another request on a connection,
//! HTTP/1.0, a GET with a body). Both answer with [`protocol::answer`] and
//! [`protocol::HEADERS`], so they answer alike.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};

use super::feed_request;
use super::protocol::poll::{self as protocol, Waited};
use crate::auth::stream::MaybeCaller;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::Feed;
use crate::events::params::StreamQuery;
use crate::state::AppState;

/// Opens the reader's feed for one answer (see the module doc).
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, transport = "long_poll"))]
pub async fn poll(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: MaybeCaller,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(c) = &caller.0 {
        tracing::Span::current().record("user_id", c.principal.user_id);
    }
    let timeout = protocol::timeout_of(&query, &state.settings.push)?;
    let limit = state.settings.push.batch_limit;
    let metrics = Arc::clone(&state.metrics);
    let started = Instant::now();
    let request = feed_request(&req, caller.0, query.into_inner());
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
