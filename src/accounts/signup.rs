//! New accounts: a customer signs up on their own; an admin creates staff (owners
//! bound to their stores, or other admins).

use super::{AccountError, Login, MAX_STAFF_STORES, Name, Password, Phone, UserWithStores};
use crate::auth::{Role, password};
use crate::db::users::{self as sql, NewUser, User};
use crate::db::{Db, is_unique_violation};

/// Open sign-up of a customer; the answer carries the member number to log in with.
pub async fn sign_up(
    db: &Db,
    name: &str,
    phone: &str,
    password: &str,
) -> Result<User, AccountError> {
    let name = Name::parse(name)?;
    let phone = Phone::parse(phone)?;
    let pw = Password::parse(password)?;
    let hash = password::hash(pw.into_inner()).await?;
    let new = NewUser {
        role: Role::Customer,
        login: None,
        name: name.as_str(),
        phone: Some(phone.as_str()),
        password_hash: Some(&hash),
    };
    let mut tx = db.begin().await?;
    let user = sql::insert_user(&mut tx, &new, &[]).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, member_no = ?user.member_no, "customer signed up");
    Ok(user)
}

/// A staff account as an admin asks for it, unchecked.
#[derive(Clone, Copy, Debug)]
pub struct NewStaff<'a> {
    pub name: &'a str,
    pub login: &'a str,
    pub password: &'a str,
    pub role: Role,
    /// The stores an owner works at; each must exist.
    pub store_ids: &'a [i64],
}

/// Creates an owner or an admin, working at `store_ids`. A login already taken is
/// [`AccountError::LoginTaken`].
pub async fn create_staff(db: &Db, new: NewStaff<'_>) -> Result<UserWithStores, AccountError> {
    if new.role == Role::Customer {
        return Err(AccountError::StaffRole);
    }
    if new.store_ids.len() > MAX_STAFF_STORES {
        return Err(AccountError::TooManyStores);
    }
    let name = Name::parse(new.name)?;
    let login = Login::parse(new.login)?;
    let pw = Password::parse(new.password)?;
    for s in new.store_ids {
        if !db.store_exists(*s).await? {
            return Err(AccountError::NoSuchStore(*s));
        }
    }
    let hash = password::hash(pw.into_inner()).await?;
    let row = NewUser {
        role: new.role,
        login: Some(login.as_str()),
        name: name.as_str(),
        phone: None,
        password_hash: Some(&hash),
    };
    let mut tx = db.begin().await?;
    let user = match sql::insert_user(&mut tx, &row, new.store_ids).await {
        Ok(u) => u,
        Err(e) if is_unique_violation(&e) => return Err(AccountError::LoginTaken),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(UserWithStores {
        user,
        store_ids: new.store_ids.to_vec(),
    })
}
