//! The operator's log of business actions: one `info` line per grant, correction,
//! redemption, order, return, chat message, inquiry, job run and failed login,
//! saying who (name, and member number or staff login), what, and the outcome.
//! The flows write the lines (target `pointcast::action`, field `action`); this
//! module only finds the names to put in them.

use crate::db::Db;

/// A person as a log line names them.
pub struct Who {
    pub name: String,
    /// A customer's member number or a staff member's login.
    pub login: String,
}

/// Whether action lines are written at all (`RUST_LOG=warn` turns them off): when
/// not, no name is looked up, so a quiet server pays nothing for them.
pub fn enabled() -> bool {
    tracing::enabled!(target: "pointcast::action", tracing::Level::INFO)
}

/// Who `user_id` is; a placeholder when they cannot be read (a log line never
/// fails the action it reports) or when action lines are off.
pub async fn who(db: &Db, user_id: i64) -> Who {
    if !enabled() {
        return Who {
            name: String::new(),
            login: String::new(),
        };
    }
    match db.user(user_id).await {
        Ok(Some(u)) => Who {
            login: u.member_no.or(u.login).unwrap_or_default(),
            name: u.name,
        },
        _ => Who {
            name: format!("user {user_id}"),
            login: String::new(),
        },
    }
}
