//! Who reads a stream or a long-poll, and through which session.
//!
//! A stream remembers the session it was opened with, so that it ends when that
//! session does (logout, a password change, an admin's "disconnect", expiry; see
//! [`crate::events::connections`]). Event routes also take a stream ticket
//! (`POST /api/v1/events/ticket`): a single-use stand-in for the session token, so
//! that the token itself never has to be in a URL. Sessions are judged by the app
//! clock (`Settings.clock`), the same everywhere.

use super::{Principal, SessionRef, is_ticket, token_hash};
use crate::db::tickets;
use crate::error::ApiError;
use crate::state::AppState;

/// A signed-in reader and the session it reads through.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// `None` for a credential that is not a session (none yet; an API key would
    /// be): such a stream ends only with the credential's own checks.
    pub session: Option<SessionRef>,
}

/// The app clock's now, in Unix millis: what sessions and tickets expire by.
pub fn now(state: &AppState) -> i64 {
    state.settings.clock.now().timestamp_millis()
}

/// The session a token names, if it exists and has not expired by the app clock.
pub async fn session_of(state: &AppState, token: &str) -> anyhow::Result<Option<Caller>> {
    // Not sessions: API keys (never cached; see `auth::keys`) and, when configured,
    // JWTs from the shop's identity provider (`auth::jwt`).
    if token.starts_with(super::keys::KEY_PREFIX) {
        let p = crate::db::api_keys::principal(&state.db, token).await?;
        return Ok(p.map(|principal| Caller {
            principal,
            session: None,
        }));
    }
    if let Some(jwt) = state.settings.jwt.as_deref()
        && super::jwt::looks_like_jwt(token)
    {
        let p = super::jwt::principal(jwt, &state.db, token).await?;
        return Ok(p.map(|principal| Caller {
            principal,
            session: None,
        }));
    }
    let found = state
        .db
        .session_by_hash(&token_hash(token), now(state), true)
        .await?;
    Ok(found.map(|(principal, session)| Caller {
        principal,
        session: Some(session),
    }))
}

/// The reader an event route's credential names: a session token, or a stream
/// ticket (used up here, so it opens one stream or poll, once). `None` without a
/// credential; 401 for one that does not check out.
pub async fn stream_caller(
    state: &AppState,
    credential: Option<String>,
) -> Result<Option<Caller>, ApiError> {
    let Some(credential) = credential else {
        return Ok(None);
    };
    // Boxed, and only when there is a credential: the lookup's future (a ticket's
    // is a transaction) is over 2 KB, and unboxed it sized the future of every
    // long-poll for its whole wait, anonymous or not (2.8 KB; with it boxed, the
    // box is gone before the wait begins).
    Box::pin(caller_of(state, credential)).await.map(Some)
}

/// [`stream_caller`] for a credential.
async fn caller_of(state: &AppState, credential: String) -> Result<Caller, ApiError> {
    let caller = if is_ticket(&credential) {
        let mut tx = state.db.begin().await?;
        let session = tickets::redeem_ticket(&mut tx, &credential, now(state)).await?;
        tx.commit().await?;
        match session {
            Some(hash) => state
                .db
                .session_by_hash(&hash, now(state), true)
                .await?
                .map(|(principal, session)| Caller {
                    principal,
                    session: Some(session),
                }),
            None => return Err(ApiError::Unauthorized("invalid, used or expired ticket")),
        }
    } else {
        session_of(state, &credential).await?
    };
    caller.ok_or(ApiError::Unauthorized("invalid or expired token"))
}
