//! Pulling the caller out of a request: `Authorization: Bearer`, the session
//! cookie, or `?access_token=` on the event routes (EventSource cannot set headers).
//!
//! One rule for every path: actix's extractors and the lean socket path
//! ([`crate::transport::edge`]) both hand the request's [`HeaderMap`] and query
//! string to [`credential`], so the same bytes name the same caller on both (two
//! `Cookie` headers, a quoted or percent-encoded cookie, a header that is not
//! ASCII: one answer, whichever path reads it).

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::{Principal, SESSION_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;

/// What a request presents as proof of who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A session token (header, cookie or `?access_token=`).
    Token(String),
}

/// The session token a request carries, if any (logout and session routes).
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    credential_of(req).map(|Credential::Token(t)| t)
}

/// [`credential`] of an actix request: the query string counts on the event
/// routes only.
fn credential_of(req: &HttpRequest) -> Option<Credential> {
    let events = req.path().starts_with("/api/v1/events");
    credential(req.headers(), events.then(|| req.query_string()))
}

/// The one rule for finding a credential: the `Authorization` header decides when
/// present (the first one; a non-Bearer scheme or a value that is not visible
/// ASCII means none), then the session cookie ([`session_cookie`]), then
/// `?access_token=` where `events_query` is given (event routes only).
pub fn credential(headers: &HeaderMap, events_query: Option<&str>) -> Option<Credential> {
    if let Some(v) = headers.get(AUTHORIZATION) {
        let (scheme, token) = v.to_str().ok()?.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| Credential::Token(token.trim().to_string()));
    }
    if let Some(c) = session_cookie(headers) {
        return Some(Credential::Token(c));
    }
    let query = events_query?;
    // A key can only be `access_token` or `ticket` if the query spells it, or
    // escapes part of it: any other query is not parsed a second time (the feed
    // parses it too). Parsing every long-poll's query here was 6 % of its
    // instructions (callgrind; docs/performance.md, seventh part).
    if !(query.contains("access_token") || query.contains("ticket") || query.contains('%')) {
        return None;
    }
    web::Query::<AccessToken>::from_query(query)
        .ok()
        .and_then(|q| {
            let q = q.into_inner();
            q.access_token.or(q.ticket)
        })
        .map(Credential::Token)
}

/// The one cookie rule: the first `pointcast_session` pair across every `Cookie`
/// header in order (`a=1; pointcast_session=x`), its value without one pair of
/// surrounding double quotes and percent-decoded. A `Cookie` header that is not
/// visible ASCII is skipped whole; a value that does not decode is taken as is.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            if name.trim() != SESSION_COOKIE {
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some(percent_decoded(value))
        })
}

/// `%XX` sequences decoded; the text as is when any is malformed or the result is
/// not UTF-8.
fn percent_decoded(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return s.to_string();
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[derive(serde::Deserialize)]
struct AccessToken {
    access_token: Option<String>,
    /// A stream ticket ([`super::stream`]), never a session token.
    ticket: Option<String>,
}

/// The principal a credential names; `None` without one; 401 for one that does
/// not check out.
pub async fn principal_for(
    state: &AppState,
    credential: Option<Credential>,
) -> Result<Option<Principal>, ApiError> {
    let Some(Credential::Token(token)) = credential else {
        return Ok(None);
    };
    match super::stream::session_of(state, &token).await? {
        Some(c) => Ok(Some(c.principal)),
        None => Err(ApiError::Unauthorized("invalid or expired token")),
    }
}

async fn resolve(
    state: Option<web::Data<AppState>>,
    credential: Option<Credential>,
) -> Result<Option<Principal>, ApiError> {
    if credential.is_none() {
        return Ok(None);
    }
    let state = state.ok_or_else(|| anyhow::anyhow!("app state missing"))?;
    principal_for(&state, credential).await
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credential = credential_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let route = (req.method().to_string(), req.match_pattern());
        Box::pin(async move {
            let p = resolve(state, credential)
                .await?
                .ok_or(ApiError::Unauthorized("authentication required"))?;
            super::keys::check_route(&p, &route.0, route.1.as_deref())?;
            Ok(p)
        })
    }
}

/// The caller if it sent a credential, `None` if it sent none; one that does not
/// check out is still a 401 (a typo should not silently turn into a visitor).
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequest for MaybePrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credential = credential_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let route = (req.method().to_string(), req.match_pattern());
        Box::pin(async move {
            let p = resolve(state, credential).await?;
            if let Some(p) = &p {
                super::keys::check_route(p, &route.0, route.1.as_deref())?;
            }
            Ok(Self(p))
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    fn token(h: &HeaderMap, q: Option<&str>) -> Option<String> {
        credential(h, q).map(|Credential::Token(t)| t)
    }

    #[test]
    fn a_query_token_is_found_however_its_name_is_written() {
        let none = HeaderMap::new();
        assert_eq!(token(&none, Some("topics=announcements&timeout=5")), None);
        assert_eq!(token(&none, Some("topics=a%2Cb")), None);
        assert_eq!(token(&none, Some("access_token=T")).as_deref(), Some("T"));
        assert_eq!(token(&none, Some("x=1&ticket=K")).as_deref(), Some("K"));
        // Escaped names decode to the same key.
        assert_eq!(token(&none, Some("access%5Ftoken=T")).as_deref(), Some("T"));
        assert_eq!(token(&none, Some("%74icket=K")).as_deref(), Some("K"));
        // Only where events_query is given.
        assert_eq!(token(&none, None), None);
    }

    #[test]
    fn one_rule_names_the_caller() {
        let both = headers(&[
            ("cookie", b"a=1; pointcast_session=A"),
            ("cookie", b"pointcast_session=B"),
        ]);
        assert_eq!(token(&both, None).as_deref(), Some("A"), "the first wins");
        let quoted = headers(&[("cookie", b"pointcast_session=\"A\"")]);
        assert_eq!(token(&quoted, None).as_deref(), Some("A"));
        let encoded = headers(&[("cookie", b"pointcast_session=A%2DB")]);
        assert_eq!(token(&encoded, None).as_deref(), Some("A-B"));
        let odd = headers(&[
            ("cookie", b"pointcast_session=\xffA"),
            ("cookie", b"pointcast_session=C"),
        ]);
        assert_eq!(
            token(&odd, None).as_deref(),
            Some("C"),
            "not ASCII: skipped"
        );
        let bearer = headers(&[
            ("authorization", b"Bearer X"),
            ("cookie", b"pointcast_session=A"),
        ]);
        assert_eq!(token(&bearer, Some("access_token=Q")).as_deref(), Some("X"));
        let basic = headers(&[
            ("authorization", b"Basic X"),
            ("cookie", b"pointcast_session=A"),
        ]);
        assert_eq!(token(&basic, None), None, "the header decides");
        assert_eq!(
            token(&HeaderMap::new(), Some("access_token=Q")).as_deref(),
            Some("Q")
        );
        assert_eq!(token(&HeaderMap::new(), None), None);
    }
}
