//! The one way both paths turn a stream or poll request into a [`FeedRequest`]:
//! the actix handlers ([`super::sse`], [`super::poll`]) and the lean loops
//! ([`super::edge`]) hand it the request's headers, query string and peer, and
//! get the same answer or the same error for the same bytes.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{CONTENT_LENGTH, HeaderMap, TRANSFER_ENCODING};
use actix_web::web;

use crate::auth::extract::{Credential, credential};
use crate::auth::is_ticket;
use crate::auth::stream::stream_caller;
use crate::error::ApiError;
use crate::events::feed::FeedRequest;
use crate::events::params::StreamQuery;
use crate::state::AppState;

/// What the reader asked for, and who it is, in this order: a request body is
/// refused ([`refuse_body`]), the query string is parsed, the credential found
/// ([`credential`]) and checked (a bad one is a 401). Records `user_id` in the
/// current span.
pub async fn feed_request(
    state: &AppState,
    headers: &HeaderMap,
    query: &str,
    peer: Option<SocketAddr>,
) -> Result<Box<FeedRequest>, ApiError> {
    refuse_body(headers)?;
    let parsed = web::Query::<StreamQuery>::from_query(query)
        .map_err(|e| ApiError::bad_request("bad_query", e.to_string()))?
        .into_inner();
    let token = credential(headers, Some(query)).map(|Credential::Token(t)| t);
    let ticket = token.as_deref().is_some_and(is_ticket);
    let caller = stream_caller(state, token).await?;
    if let Some(c) = &caller {
        tracing::Span::current().record("user_id", c.principal.user_id);
    }
    let (principal, session) = caller.map_or((None, None), |c| (Some(c.principal), c.session));
    let reusable = principal.is_none() || (session.is_some() && !ticket);
    Ok(Box::new(FeedRequest {
        cursor_header: headers
            .get("last-event-id")
            .map(|v| v.to_str().unwrap_or("?").to_string()),
        remote: client_addr(state, peer, headers),
        principal,
        session,
        query: parsed,
        reusable,
    }))
}

/// The client's address for caps, the connection list and logs: the peer's, or
/// what a trusted proxy forwarded ([`crate::net::client_addr`]).
pub fn client_addr(
    state: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let header = |name: &str| {
        let values: Vec<&str> = headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    crate::net::client_addr(
        &state.settings.trusted_proxies,
        peer.map(|a| a.ip()),
        header("forwarded").as_deref(),
        header("x-forwarded-for").as_deref(),
    )
}

/// Streams and polls take no body: a `Content-Length` other than 0, or any
/// `Transfer-Encoding`, is a 400 (`body_not_allowed`). actix's decoder has
/// already refused what is malformed (two lengths, a length with an encoding).
pub fn refuse_body(headers: &HeaderMap) -> Result<(), ApiError> {
    let length = headers
        .get(CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes().trim_ascii() != b"0");
    if length || headers.contains_key(TRANSFER_ENCODING) {
        return Err(ApiError::bad_request(
            "body_not_allowed",
            "streams and polls take no request body",
        ));
    }
    Ok(())
}
