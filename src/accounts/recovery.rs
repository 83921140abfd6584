//! `pointcast admin reset-password`: an operator who lost the admin's password
//! sets a new one straight in the database (they can reach the database, so they
//! may). The admin's sessions end with it, so a leaked token stops working too.

use super::{AccountError, Password};
use crate::auth::{self, Role, password};
use crate::db::Db;
use crate::db::users::{credentials, set_password};

/// A reset done: whose password, and the new one when it was generated here.
pub struct Reset {
    pub login: String,
    pub generated: Option<String>,
}

/// Sets a new password for the admin `login`: `new` when given (checked like any
/// password), else a generated one that the caller prints.
pub async fn reset_admin_password(
    db: &Db,
    login: &str,
    new: Option<&str>,
) -> Result<Reset, AccountError> {
    let (chosen, generated) = match new {
        Some(p) => (Password::parse(p)?, None),
        None => {
            let p = auth::new_token()[3..23].to_string();
            (Password::parse(&p)?, Some(p))
        }
    };
    let Some((user, _)) = credentials(db.reader(), login).await? else {
        return Err(AccountError::NotFound);
    };
    if user.role != Role::Admin {
        return Err(AccountError::NotFound);
    }
    let hash = password::hash(chosen.into_inner()).await?;
    let mut tx = db.begin().await?;
    set_password(&mut tx, user.id, &hash, None).await?;
    tx.commit().await?;
    tracing::info!(login, "admin password reset from the command line");
    Ok(Reset {
        login: login.to_string(),
        generated,
    })
}
