//! Announcements: the first event producer. An admin writes to one user, to one
//! store's members, or to everyone (the public `announcements` topic); an owner
//! writes to the members of their own stores.

use serde::Serialize;
use serde_json::json;
use thiserror::Error;

use crate::auth::Principal;
use crate::db::Db;
use crate::events::{channel, types};

/// Longest announcement text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Who an announcement is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    User(i64),
    StoreMembers(i64),
    Everyone,
}

#[derive(Debug, Error)]
pub enum AnnounceError {
    #[error("text must be 1 to {MAX_TEXT_CHARS} characters")]
    Text,
    #[error("name exactly one of user_id, store_id or all: true")]
    Target,
    #[error("only admins announce to users or everyone; owners to their own stores")]
    Forbidden,
    #[error("user")]
    NoSuchUser,
    #[error("store")]
    NoSuchStore,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What was sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Sent {
    /// How many events were appended (one per recipient channel).
    pub events: usize,
    /// The id of the last of them.
    pub last_event_id: Option<i64>,
}

/// Picks the target from the request's optional fields.
pub fn target(
    user_id: Option<i64>,
    store_id: Option<i64>,
    all: bool,
) -> Result<Target, AnnounceError> {
    match (user_id, store_id, all) {
        (Some(u), None, false) => Ok(Target::User(u)),
        (None, Some(s), false) => Ok(Target::StoreMembers(s)),
        (None, None, true) => Ok(Target::Everyone),
        _ => Err(AnnounceError::Target),
    }
}

/// Validates, authorises and appends the announcement in one transaction.
pub async fn announce(
    db: &Db,
    by: &Principal,
    target: Target,
    text: &str,
) -> Result<Sent, AnnounceError> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > MAX_TEXT_CHARS {
        return Err(AnnounceError::Text);
    }
    let allowed = match target {
        Target::User(_) | Target::Everyone => by.is_admin(),
        Target::StoreMembers(s) => db.is_staff_of(by, s).await?,
    };
    if !allowed {
        return Err(AnnounceError::Forbidden);
    }
    let channels: Vec<String> = match target {
        // Whether the user exists is checked as the event is appended.
        Target::User(u) => vec![channel::user(u)],
        Target::StoreMembers(s) => {
            if !db.store_exists(s).await? {
                return Err(AnnounceError::NoSuchStore);
            }
            db.member_ids(s)
                .await?
                .into_iter()
                .map(channel::user)
                .collect()
        }
        Target::Everyone => vec![channel::ANNOUNCEMENTS.into()],
    };
    let data = json!({
        "text": text,
        "from": { "id": by.user_id, "name": by.name },
        "scope": match target { Target::User(_) => "user", Target::StoreMembers(_) => "store", Target::Everyone => "all" },
        "store_id": match target { Target::StoreMembers(s) => Some(s), _ => None },
    });
    let recipient = match target {
        Target::User(u) => Some(u),
        _ => None,
    };
    let last = db
        .append_alone(&channels, types::ANNOUNCEMENT, &data, recipient)
        .await?;
    if last.is_none() && recipient.is_some() {
        return Err(AnnounceError::NoSuchUser);
    }
    Ok(Sent {
        events: channels.len(),
        last_event_id: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_target() {
        assert_eq!(target(Some(1), None, false).unwrap(), Target::User(1));
        assert_eq!(
            target(None, Some(2), false).unwrap(),
            Target::StoreMembers(2)
        );
        assert_eq!(target(None, None, true).unwrap(), Target::Everyone);
        assert!(target(None, None, false).is_err());
        assert!(target(Some(1), Some(2), false).is_err());
        assert!(target(Some(1), None, true).is_err());
    }
}
