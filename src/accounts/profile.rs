//! An account as its holder (and staff) see it and change it: the profile, the
//! location a customer shares, and "who am I".

use serde::Serialize;

use super::{AccountError, Name, Password, Phone};
use crate::auth::{Principal, password};
use crate::db::Db;
use crate::db::users::{self as sql, User};
use crate::stores::parse_location;

/// A point on the map.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// A user with the stores they work at (empty for customers).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UserWithStores {
    #[serde(flatten)]
    pub user: User,
    pub store_ids: Vec<i64>,
}

/// A user as another caller sees them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    #[serde(flatten)]
    pub user: User,
    /// `None` when the caller is not shown the location (no `location` key);
    /// `Some(None)` when it is shown but none was shared (`null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Option<LatLon>>,
}

/// A user, with their shared location when `with_location` (the user themself and
/// admins see it; an owner serving them does not).
pub async fn profile(db: &Db, id: i64, with_location: bool) -> Result<Profile, AccountError> {
    let user = db.user(id).await?.ok_or(AccountError::NotFound)?;
    let location = if with_location {
        let at = sql::location(db.reader(), id).await?;
        Some(at.map(|(lat, lon)| LatLon { lat, lon }))
    } else {
        None
    };
    Ok(Profile { user, location })
}

/// Whether a user id names anyone.
pub async fn exists(db: &Db, id: i64) -> Result<bool, AccountError> {
    Ok(db.user(id).await?.is_some())
}

/// The fields a profile change names, unchecked; at least one must be given.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProfileChange<'a> {
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// Changes name, phone or password. A new password ends the user's other sessions;
/// `keep_token` (the caller's own session, when they change their own account)
/// stays.
pub async fn update_profile(
    db: &Db,
    id: i64,
    change: ProfileChange<'_>,
    keep_token: Option<&str>,
) -> Result<User, AccountError> {
    if change.name.is_none() && change.phone.is_none() && change.password.is_none() {
        return Err(AccountError::EmptyPatch);
    }
    let name = change.name.map(Name::parse).transpose()?;
    let phone = change.phone.map(Phone::parse).transpose()?;
    let pw = change.password.map(Password::parse).transpose()?;
    let hash = match pw {
        Some(p) => Some(password::hash(p.into_inner()).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let mut user = sql::user_by_id(tx.conn(), id)
        .await?
        .ok_or(AccountError::NotFound)?;
    if let Some(n) = &name {
        user.name = n.as_str().to_string();
    }
    if let Some(p) = &phone {
        user.phone = Some(p.as_str().to_string());
    }
    sql::set_profile(&mut tx, &user, name.is_some()).await?;
    if let Some(h) = &hash {
        sql::set_password(&mut tx, id, h, keep_token).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Records where a user is (for "stores near me").
pub async fn share_location(db: &Db, id: i64, lat: f64, lon: f64) -> Result<LatLon, AccountError> {
    let (lat, lon) = parse_location(Some(lat), Some(lon))
        .ok()
        .flatten()
        .ok_or(AccountError::Location)?;
    let mut tx = db.begin().await?;
    if !sql::set_location(&mut tx, id, lat, lon).await? {
        return Err(AccountError::NotFound);
    }
    tx.commit().await?;
    Ok(LatLon { lat, lon })
}

/// The caller, with the stores they work at when they are staff.
pub async fn me(db: &Db, who: &Principal) -> Result<UserWithStores, AccountError> {
    let user = db.user(who.user_id).await?.ok_or(AccountError::Gone)?;
    let store_ids = if who.role.is_staff() {
        db.staff_store_ids(who.user_id).await?
    } else {
        Vec::new()
    };
    Ok(UserWithStores { user, store_ids })
}
