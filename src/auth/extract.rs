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
    if let Some(v) = req.headers().get("authorization") {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        return Some(c.value().to_string());
    }
    if req.path().starts_with("/api/v1/events") {
        return web::Query::<AccessToken>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.into_inner().access_token);
    }
    None
}

#[derive(serde::Deserialize)]
struct AccessToken {
    access_token: Option<String>,
}

async fn resolve(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<Option<Principal>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let state = state.ok_or_else(|| anyhow::anyhow!("app state missing"))?;
    match state.db.principal_by_token(&token).await? {
        Some(p) => Ok(Some(p)),
        None => Err(ApiError::Unauthorized("invalid or expired token")),
    }
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
