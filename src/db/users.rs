//! User rows: users, their sessions, who works at which store, shared locations.
//!
//! Rows and queries only; the account flows that decide are in
//! [`crate::accounts`]. Writes take the flow's [`Tx`]; reads take any executor.
//! What every caller needs holds by construction here: a customer always gets a
//! member number, a new password always ends the user's other sessions, and every
//! change a cached session could show (name, role, the session itself) tells the
//! session cache ([`Tx::sessions_changed`]).

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use super::{Db, Tx};
use crate::auth::{self, Principal, Role, SessionRef};
use crate::time::{now_millis, rfc3339};

/// A user as the API shows it (never the password hash).
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub role: Role,
    /// Customers log in with it.
    pub member_no: Option<String>,
    /// Staff log in with it.
    pub login: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub created_at: String,
}

/// A new user's fields, already validated and with the password hashed.
pub struct NewUser<'a> {
    pub role: Role,
    pub login: Option<&'a str>,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

/// The columns [`user_from_row`] reads, in its order.
macro_rules! user_columns {
    () => {
        "id, role, member_no, login, name, phone, created_at"
    };
}

pub(crate) fn user_from_row(r: &sql::Row) -> anyhow::Result<User> {
    let role: String = r.try_get(1)?;
    Ok(User {
        id: r.try_get(0)?,
        role: Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?,
        member_no: r.try_get(2)?,
        login: r.try_get(3)?,
        name: r.try_get(4)?,
        phone: r.try_get(5)?,
        created_at: rfc3339(r.try_get(6)?),
    })
}

/// Member numbers start here so they all have the same width for a long while.
const MEMBER_NO_BASE: i64 = 100_000;

/// Inserts a user; a customer gets the next member number and staff are bound to
/// `store_ids`, in the same write. Fails with a unique violation (see
/// [`super::is_unique_violation`]) when the login is taken.
pub async fn insert_user(
    tx: &mut Tx,
    new: &NewUser<'_>,
    store_ids: &[i64],
) -> anyhow::Result<User> {
    let id = sql::query(
        "INSERT INTO users (role, login, name, phone, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.role.as_str())
    .bind(new.login)
    .bind(new.name)
    .bind(new.phone)
    .bind(new.password_hash)
    .bind(now_millis())
    .insert_id(tx.conn())
    .await
    .context("inserting a user")?;
    if new.role == Role::Customer {
        sql::query("UPDATE users SET member_no = $1 WHERE id = $2")
            .bind((MEMBER_NO_BASE + id).to_string())
            .bind(id)
            .execute(tx.conn())
            .await
            .context("numbering a member")?;
    }
    for store_id in store_ids {
        sql::query("INSERT INTO store_staff (store_id, user_id) VALUES ($1, $2)")
            .bind(store_id)
            .bind(id)
            .execute(tx.conn())
            .await
            .context("binding staff to a store")?;
    }
    user_by_id(tx.conn(), id)
        .await?
        .context("a new user vanished")
}

/// One user, read through `ex`.
pub async fn user_by_id<'c>(ex: impl Into<sql::Conn<'c>>, id: i64) -> anyhow::Result<Option<User>> {
    let row = sql::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await
    .context("reading a user")?;
    row.as_ref().map(user_from_row).transpose()
}

/// The user and password hash for a login name or member number.
pub async fn credentials<'c>(
    ex: impl Into<sql::Conn<'c>>,
    login: &str,
) -> anyhow::Result<Option<(User, Option<String>)>> {
    let row = sql::query(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE login = $1 OR member_no = $1"
    ))
    .bind(login)
    .fetch_optional(ex)
    .await
    .context("looking up a login")?;
    row.map(|r| Ok((user_from_row(&r)?, r.try_get(7)?)))
        .transpose()
}

/// Writes a user's name and phone as given; a changed name reaches the session
/// cache, which shows it.
pub async fn set_profile(tx: &mut Tx, user: &User, name_changed: bool) -> anyhow::Result<()> {
    sql::query("UPDATE users SET name = $1, phone = $2 WHERE id = $3")
        .bind(&user.name)
        .bind(&user.phone)
        .bind(user.id)
        .execute(tx.conn())
        .await
        .context("updating a user")?;
    if name_changed {
        tx.sessions_changed(user.id).await?;
    }
    Ok(())
}

/// Sets a new password hash and ends the user's other sessions in the same write,
/// so a stolen token does not outlive the change; `keep_token` (the caller's own
/// session) stays.
pub async fn set_password(
    tx: &mut Tx,
    user_id: i64,
    password_hash: &str,
    keep_token: Option<&str>,
) -> anyhow::Result<()> {
    sql::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(tx.conn())
        .await
        .context("changing a password")?;
    sql::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep_token.map(auth::token_hash).unwrap_or_default())
        .execute(tx.conn())
        .await
        .context("ending other sessions")?;
    tx.sessions_changed(user_id).await
}

/// Stores a session for `token` (its hash only).
pub async fn insert_session(
    tx: &mut Tx,
    token: &str,
    user_id: i64,
    ttl_millis: i64,
) -> anyhow::Result<()> {
    let now = now_millis();
    sql::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (token_hash) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at",
    )
    .bind(auth::token_hash(token))
    .bind(user_id)
    .bind(now)
    .bind(now.saturating_add(ttl_millis))
    .execute(tx.conn())
    .await
    .context("creating a session")?;
    Ok(())
}

/// Ends the session of `token`, if there is one, and tells the session cache.
pub async fn delete_session(tx: &mut Tx, token: &str) -> anyhow::Result<()> {
    let owner: Option<i64> =
        sql::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
            .bind(auth::token_hash(token))
            .fetch_optional(tx.conn())
            .await
            .context("ending a session")?;
    if let Some(user_id) = owner {
        tx.sessions_changed(user_id).await?;
    }
    Ok(())
}

/// Ends every session of `user_id` (and with them the stream tickets made from
/// them) and tells the session cache; returns how many there were.
pub async fn delete_user_sessions(tx: &mut Tx, user_id: i64) -> anyhow::Result<u64> {
    let n = sql::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await
        .context("ending a user's sessions")?
        .rows_affected();
    tx.sessions_changed(user_id).await?;
    Ok(n)
}

/// Records the location a user shares; false if the user does not exist.
pub async fn set_location(tx: &mut Tx, id: i64, lat: f64, lon: f64) -> anyhow::Result<bool> {
    let n = sql::query("UPDATE users SET lat = $1, lon = $2 WHERE id = $3")
        .bind(lat)
        .bind(lon)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("sharing a location")?
        .rows_affected();
    Ok(n == 1)
}

/// The location a user shared, if any.
pub async fn location<'c>(
    ex: impl Into<sql::Conn<'c>>,
    id: i64,
) -> anyhow::Result<Option<(f64, f64)>> {
    let row = sql::query("SELECT lat, lon FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await
        .context("reading a location")?;
    Ok(match row {
        Some(r) => r
            .try_get::<Option<f64>, _>(0)?
            .zip(r.try_get::<Option<f64>, _>(1)?),
        None => None,
    })
}

impl Db {
    /// Creates a user in a transaction of its own, for start-up, seeding and the
    /// bench; requests go through [`crate::accounts`].
    pub async fn create_user(&self, new: &NewUser<'_>, store_ids: &[i64]) -> anyhow::Result<User> {
        let mut tx = self.begin().await?;
        let user = insert_user(&mut tx, new, store_ids).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Stores a session in a transaction of its own, for start-up and the bench;
    /// logins go through [`crate::accounts::sessions::login`].
    pub async fn create_session(
        &self,
        token: &str,
        user_id: i64,
        ttl_millis: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        insert_session(&mut tx, token, user_id, ttl_millis).await?;
        tx.commit().await
    }

    /// One user, if it exists.
    pub async fn user(&self, id: i64) -> anyhow::Result<Option<User>> {
        user_by_id(self.reader(), id).await
    }

    /// The role of a user, if the user exists.
    pub async fn user_role(&self, id: i64) -> anyhow::Result<Option<String>> {
        let row = sql::query("SELECT role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| r.try_get(0)).transpose()
    }

    /// The caller a token belongs to, if the session exists and has not expired.
    /// Found sessions are cached for a few seconds (see `session_cache`).
    /// An API key (`pck_...`) resolves through [`super::api_keys::principal`],
    /// never cached, so a revoked key is refused at once.
    pub async fn principal_by_token(&self, token: &str) -> anyhow::Result<Option<Principal>> {
        if token.starts_with(auth::keys::KEY_PREFIX) {
            return super::api_keys::principal(self, token).await;
        }
        let found = self
            .session_by_hash(&auth::token_hash(token), now_millis(), true)
            .await?;
        Ok(found.map(|(p, _)| p))
    }

    /// Whether the session `hash` names is cached here as live at `now` (the
    /// app clock's millis): a logout, a password change or an admin's
    /// disconnect forgets it at once on this instance, and through the
    /// notification on every other. `false` says nothing: ask
    /// [`Db::session_by_hash`].
    pub fn session_cached(&self, hash: &str, now: i64) -> bool {
        self.sessions.holds(hash, now)
    }

    /// The caller and session of a token hash, if the session exists and has not
    /// expired at `now` (Unix millis; the app clock's, so that tests can move it).
    /// `cached`: a recent lookup may answer (see `session_cache`); without it the
    /// database always does (re-checking an open stream's session after a change).
    pub async fn session_by_hash(
        &self,
        hash: &str,
        now: i64,
        cached: bool,
    ) -> anyhow::Result<Option<(Principal, SessionRef)>> {
        if cached && let Some((p, expires_at)) = self.sessions.get(hash, now) {
            let session = SessionRef {
                hash: hash.to_string(),
                expires_at,
            };
            return Ok(Some((p, session)));
        }
        let epoch = self.sessions.epoch();
        let row = sql::query(
            "SELECT u.id, u.role, u.name, s.expires_at, COALESCE(u.member_no, u.login, '')
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(self.reader())
        .await
        .context("looking up a session")?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get(1)?;
        let principal = Principal {
            user_id: r.try_get(0)?,
            role: Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?,
            name: r.try_get(2)?,
            login: r.try_get(4)?,
            key: None,
            expires_at: None,
        };
        let expires_at: i64 = r.try_get(3)?;
        self.sessions
            .put(epoch, hash.to_string(), principal.clone(), expires_at);
        let session = SessionRef {
            hash: hash.to_string(),
            expires_at,
        };
        Ok(Some((principal, session)))
    }

    /// The customer a JWT's `sub` names (by member number or external id).
    pub async fn principal_by_subject(
        &self,
        subject: auth::jwt::Subject,
        sub: &str,
    ) -> anyhow::Result<Option<Principal>> {
        let sql = match subject {
            auth::jwt::Subject::MemberNo => {
                "SELECT id, name, COALESCE(member_no, '') FROM users WHERE member_no = $1 AND role = 'customer'"
            }
            auth::jwt::Subject::ExternalId => {
                "SELECT id, name, COALESCE(member_no, '') FROM users WHERE external_id = $1 AND role = 'customer'"
            }
        };
        let row = sql::query(sql)
            .bind(sub)
            .fetch_optional(self.reader())
            .await
            .context("looking up a token's subject")?;
        row.map(|r| {
            Ok(
                Principal::person(r.try_get(0)?, Role::Customer, r.try_get(1)?)
                    .with_login(r.try_get(2)?),
            )
        })
        .transpose()
    }

    /// The stores a staff member works at.
    pub async fn staff_store_ids(&self, user_id: i64) -> anyhow::Result<Vec<i64>> {
        let rows =
            sql::query("SELECT store_id FROM store_staff WHERE user_id = $1 ORDER BY store_id")
                .bind(user_id)
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// Whether `principal` is staff of `store_id` (admins are staff everywhere).
    pub async fn is_staff_of(&self, principal: &Principal, store_id: i64) -> anyhow::Result<bool> {
        if let Some(key) = &principal.key {
            if !key.may_act_at(store_id) {
                return Ok(false);
            }
            if key.created_by_admin {
                return Ok(true);
            }
        } else if principal.is_admin() {
            return Ok(true);
        }
        if principal.role != Role::Owner {
            return Ok(false);
        }
        // Staff rows are never deleted (see `db::known`): read once.
        if self.known.staff(store_id, principal.user_id) {
            return Ok(true);
        }
        let row = sql::query("SELECT 1 FROM store_staff WHERE store_id = $1 AND user_id = $2")
            .bind(store_id)
            .bind(principal.user_id)
            .fetch_optional(self.reader())
            .await?;
        if row.is_some() {
            self.known.remember_staff(store_id, principal.user_id);
        }
        Ok(row.is_some())
    }

    /// The customers who joined a store.
    pub async fn member_ids(&self, store_id: i64) -> anyhow::Result<Vec<i64>> {
        let rows =
            sql::query("SELECT user_id FROM memberships WHERE store_id = $1 ORDER BY user_id")
                .bind(store_id)
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// The first admin, if any (bootstrap).
    pub async fn first_admin(&self) -> anyhow::Result<Option<User>> {
        let row = sql::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE role = 'admin' ORDER BY id LIMIT 1"
        ))
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }
}
