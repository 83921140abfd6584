//! Announcements: the first event producer. An admin writes to one user, to one
//! store's members, or to everyone (the public `announcements` topic); an owner
//! writes to the members of their own stores.
//!
//! The flow is [`announce`]; the event it appends, one per recipient channel and
//! without a transaction of its own making, is [`Announcement`]
//! (see [`crate::db::EventLog::append_alone`] for why).

use serde::Serialize;
use thiserror::Error;

use crate::auth::Principal;
use crate::db::Db;
use crate::events::{Payload, channel};

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

/// `announcement`: what the reader shows. Fields in the order the wire has always
/// had them (alphabetical).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Announcement<'a> {
    pub from: Author<'a>,
    pub scope: Scope,
    /// The store whose members it went to (scope `store`), else `null`.
    pub store_id: Option<i64>,
    pub text: &'a str,
}

impl Payload for Announcement<'_> {
    const TYPE: &'static str = "announcement";
}

/// Who wrote an announcement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Author<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// Whom an announcement went to, as the reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One user.
    User,
    /// One store's members.
    Store,
    /// Everyone (the public topic).
    All,
}

impl From<Target> for Scope {
    fn from(t: Target) -> Self {
        match t {
            Target::User(_) => Self::User,
            Target::StoreMembers(_) => Self::Store,
            Target::Everyone => Self::All,
        }
    }
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
    let announcement = Announcement {
        from: Author {
            id: by.user_id,
            name: &by.name,
        },
        scope: target.into(),
        store_id: match target {
            Target::StoreMembers(s) => Some(s),
            _ => None,
        },
        text,
    };
    let recipient = match target {
        Target::User(u) => Some(u),
        _ => None,
    };
    let last = db
        .log()
        .append_alone(&channels, &announcement, recipient)
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

    #[test]
    fn the_payload_keeps_its_wire_shape() {
        let a = Announcement {
            from: Author { id: 1, name: "Ann" },
            scope: Target::StoreMembers(4).into(),
            store_id: Some(4),
            text: "Hi \"all\"",
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"from":{"id":1,"name":"Ann"},"scope":"store","store_id":4,"text":"Hi \"all\""}"#
        );
        let everyone = Announcement {
            scope: Target::Everyone.into(),
            store_id: None,
            ..a
        };
        let v = serde_json::to_value(&everyone).unwrap();
        assert_eq!(v["scope"], "all");
        assert!(v["store_id"].is_null());
        assert_eq!(Scope::from(Target::User(2)), Scope::User);
    }
}
