//! Pulling the caller out of a request: `Authorization: Bearer`, the session
//! cookie, or `?access_token=` on the event routes (EventSource cannot set headers).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::{Principal, SESSION_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;

/// The token a request carries, if any.
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(SESSION_COOKIE);
    token_from_parts(
        req.headers().get("authorization").map(|v| v.as_bytes()),
        cookie.as_ref().map(|c| c.value()),
        req.path()
            .starts_with("/api/v1/events")
            .then(|| req.query_string()),
    )
}

/// The one rule for finding a token, shared with the lean stream path
/// ([`crate::transport::edge`]), which has no `HttpRequest`: the `Authorization`
/// header decides when present (a non-Bearer scheme means no token), then the
/// session cookie, then `?access_token=` where `events_query` is given (event
/// routes only).
pub fn token_from_parts(
    authorization: Option<&[u8]>,
    session_cookie: Option<&str>,
    events_query: Option<&str>,
) -> Option<String> {
    if let Some(v) = authorization {
        let v = actix_web::http::header::HeaderValue::from_bytes(v).ok()?;
        let (scheme, token) = v.to_str().ok()?.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    if let Some(c) = session_cookie {
        return Some(c.to_string());
    }
    web::Query::<AccessToken>::from_query(events_query?)
        .ok()
        .and_then(|q| {
            let q = q.into_inner();
            q.access_token.or(q.ticket)
        })
}

/// The session cookie's value in a raw `Cookie` header (`a=1; pointcast_session=x`).
pub fn session_cookie(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == SESSION_COOKIE).then(|| value.trim().trim_matches('"'))
    })
}

#[derive(serde::Deserialize)]
struct AccessToken {
    access_token: Option<String>,
    /// A stream ticket ([`super::stream`]), never a session token.
    ticket: Option<String>,
}

/// The principal a token names; `None` without a token; 401 for a token that does
/// not check out.
pub async fn principal_for(
    state: &AppState,
    token: Option<String>,
) -> Result<Option<Principal>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match super::stream::session_of(state, &token).await? {
        Some(c) => Ok(Some(c.principal)),
        None => Err(ApiError::Unauthorized("invalid or expired token")),
    }
}

async fn resolve(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<Option<Principal>, ApiError> {
    if token.is_none() {
        return Ok(None);
    }
    let state = state.ok_or_else(|| anyhow::anyhow!("app state missing"))?;
    principal_for(&state, token).await
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_from_request(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            resolve(state, token)
                .await?
                .ok_or(ApiError::Unauthorized("authentication required"))
        })
    }
}

/// The caller if it sent a token, `None` if it sent none; a token that does not
/// check out is still a 401 (a typo should not silently turn into a visitor).
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequest for MaybePrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_from_request(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move { Ok(Self(resolve(state, token).await?)) })
    }
}
