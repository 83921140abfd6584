//! The one way both paths turn a stream or poll request into a [`FeedRequest`]:
//! the actix handlers ([`super::sse`], [`super::poll`]) and the lean loops
//! ([`super::edge`]) hand it the request's headers, query string and peer, and
//! get the same answer or the same error for the same bytes.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{CONTENT_LENGTH, HeaderMap, TRANSFER_ENCODING};
use actix_web::web;

use crate::auth::extract::{credential, principal_for};
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
) -> Result<FeedRequest, ApiError> {
    refuse_body(headers)?;
    let parsed = web::Query::<StreamQuery>::from_query(query)
        .map_err(|e| ApiError::bad_request("bad_query", e.to_string()))?
        .into_inner();
    let principal = principal_for(state, credential(headers, Some(query))).await?;
    if let Some(p) = &principal {
        tracing::Span::current().record("user_id", p.user_id);
    }
    Ok(FeedRequest {
        cursor_header: headers
            .get("last-event-id")
            .map(|v| v.to_str().unwrap_or("?").to_string()),
        remote: client_addr(peer, headers),
        principal,
        query: parsed,
    })
}

/// The client's address for caps, the connection list and logs: the peer's.
pub fn client_addr(peer: Option<SocketAddr>, _headers: &HeaderMap) -> Option<IpAddr> {
    peer.map(|a| a.ip())
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
