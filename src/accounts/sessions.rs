//! Logging in and out. Only a token's hash is stored (see [`crate::auth`]); failed
//! logins are throttled per account and per address ([`LoginThrottle`]).

use std::time::Instant;

use crate::auth::throttle::LoginThrottle;
use crate::auth::{self, SESSION_TTL_MILLIS, password};
use crate::db::Db;
use crate::db::users::{self as sql, User};

use super::AccountError;

/// Longest login and password looked at; longer ones fail like a wrong password
/// (and count as a failure) without being hashed.
const MAX_LOGIN_BYTES: usize = 64;
const MAX_PASSWORD_BYTES: usize = 512;

/// A new session: the token to send back (shown once) and whose it is.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub user: User,
}

/// Checks a member number or staff login and its password from `address`, and
/// opens a session. Unknown logins cost the same hashing work as wrong passwords,
/// so timing does not tell them apart.
pub async fn login(
    db: &Db,
    throttle: &LoginThrottle,
    login: &str,
    pw: String,
    address: &str,
) -> Result<LoggedIn, AccountError> {
    let now = Instant::now();
    throttle
        .check(login, address, now)
        .map_err(AccountError::Throttled)?;
    if login.len() > MAX_LOGIN_BYTES || pw.len() > MAX_PASSWORD_BYTES {
        throttle.failed(login, address, now);
        return Err(AccountError::WrongCredentials);
    }
    let (user, hash) = match sql::credentials(db.reader(), login.trim()).await? {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    if !password::verify(pw, hash).await? {
        throttle.failed(login, address, now);
        tracing::info!(
            target: "pointcast::action",
            action = "login",
            login = %login,
            address,
            outcome = "refused",
            "login refused"
        );
        return Err(AccountError::WrongCredentials);
    }
    let user = user.ok_or(AccountError::WrongCredentials)?;
    throttle.succeeded(login);
    let token = auth::new_token();
    let mut tx = db.begin().await?;
    sql::insert_session(&mut tx, &token, user.id, SESSION_TTL_MILLIS).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, role = %user.role, "logged in");
    Ok(LoggedIn { token, user })
}

/// Ends the session of `token`; every instance forgets it at once.
pub async fn logout(db: &Db, token: &str) -> Result<(), AccountError> {
    let mut tx = db.begin().await?;
    sql::delete_session(&mut tx, token).await?;
    tx.commit().await?;
    Ok(())
}

/// Signs `user_id` out everywhere (an admin's "disconnect this user"): every
/// session ends, so every instance ends that user's open streams and waiting
/// polls (see [`crate::events::connections`]) and a reconnect is refused.
/// Returns how many sessions ended.
pub async fn end_all(db: &Db, user_id: i64) -> Result<u64, AccountError> {
    let mut tx = db.begin().await?;
    let n = sql::delete_user_sessions(&mut tx, user_id).await?;
    tx.commit().await?;
    tracing::info!(user_id, sessions = n, "signed out everywhere");
    Ok(n)
}

/// A stream ticket for the session whose token hash is `session_hash`: single use,
/// valid for [`auth::TICKET_TTL_MILLIS`] from `now` (the app clock's). Returns the
/// ticket (shown once) and when it expires.
pub async fn make_ticket(
    db: &Db,
    session_hash: &str,
    now: i64,
) -> Result<(String, i64), AccountError> {
    let ticket = auth::new_ticket();
    let expires_at = now.saturating_add(auth::TICKET_TTL_MILLIS);
    let mut tx = db.begin().await?;
    crate::db::tickets::insert_ticket(&mut tx, &ticket, session_hash, now, expires_at).await?;
    tx.commit().await?;
    Ok((ticket, expires_at))
}
