//! The publish API: a shop's other systems push their own events (`app.` types)
//! to a user, a store's staff, or a public topic an admin created, through the
//! same durable log as pointcast's events, so they are resumable like any other.
//!
//! Who may publish where:
//! - an admin (a person): anywhere;
//! - an API key with the `publish` scope (checked by the key's route table): to
//!   `store:{id}` of its stores, to `user:{id}` of a member of one of its stores,
//!   and to any admin-created topic.
//!
//! An integrator's type always starts with `app.`, so it can never pass for one
//! of pointcast's own events; `data` is a JSON object of at most [`MAX_DATA_BYTES`].

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::auth::Principal;
use crate::db::{Db, members, topics};
use crate::events::{channel, params};
use crate::time::{now_millis, rfc3339};

/// The most `data` may hold, serialised (16 KiB): room for a rich notification,
/// while every event stays small in the hub's ring and in each reader's queue.
pub const MAX_DATA_BYTES: usize = 16 * 1024;

/// Longest event type.
pub const MAX_TYPE_LEN: usize = 64;

/// Why a publish or topic creation was refused.
#[derive(Debug, Error)]
pub enum PublishError {
    #[error("channel must be user:{{id}}, store:{{id}} or the name of a topic an admin created")]
    Channel,
    #[error(
        "type must start with `app.` and be at most {MAX_TYPE_LEN} lowercase letters, digits, '.', '_' or '-'"
    )]
    Type,
    #[error("data must be a JSON object")]
    DataShape,
    #[error("data is larger than {MAX_DATA_BYTES} bytes once serialised")]
    DataTooLarge,
    #[error(
        "only admins and API keys with the publish scope publish, and keys only for their stores and members"
    )]
    Forbidden,
    #[error("no such user, store or topic")]
    NoSuchTarget,
    #[error(
        "topic names are 1 to 32 lowercase letters, digits or '-', starting with a letter, and not a name pointcast uses"
    )]
    TopicName,
    #[error("that topic exists")]
    TopicExists,
    #[error("only admins create topics")]
    NotAdmin,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Where an integrator's event goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    User(i64),
    Store(i64),
    Topic(String),
}

impl Target {
    /// `user:7`, `store:2` or a topic's name.
    pub fn parse(s: &str) -> Result<Self, PublishError> {
        let id = |rest: &str| {
            (!rest.is_empty() && rest.len() <= 18 && rest.bytes().all(|b| b.is_ascii_digit()))
                .then(|| rest.parse::<i64>().ok())
                .flatten()
                .ok_or(PublishError::Channel)
        };
        if let Some(rest) = s.strip_prefix("user:") {
            return Ok(Self::User(id(rest)?));
        }
        if let Some(rest) = s.strip_prefix("store:") {
            return Ok(Self::Store(id(rest)?));
        }
        if params::is_app_topic_name(s) {
            return Ok(Self::Topic(s.to_string()));
        }
        Err(PublishError::Channel)
    }

    fn channel(&self) -> String {
        match self {
            Self::User(u) => channel::user(*u),
            Self::Store(s) => channel::store(*s),
            Self::Topic(t) => t.clone(),
        }
    }
}

/// Checks an integrator's event type.
pub fn check_type(t: &str) -> Result<(), PublishError> {
    let ok = t.len() <= MAX_TYPE_LEN
        && t.strip_prefix("app.").is_some_and(|rest| {
            !rest.is_empty()
                && rest.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        });
    if ok { Ok(()) } else { Err(PublishError::Type) }
}

/// What a publish answers.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    /// The event's id: a reader resumes from it like from any other.
    pub id: i64,
    pub channel: String,
    #[serde(rename = "type")]
    pub event_type: String,
}

/// Validates, authorises and appends one integrator event.
pub async fn publish(
    db: &Db,
    by: &Principal,
    channel: &str,
    event_type: &str,
    data: &Value,
) -> Result<Published, PublishError> {
    let target = Target::parse(channel)?;
    check_type(event_type)?;
    if !data.is_object() {
        return Err(PublishError::DataShape);
    }
    if data.to_string().len() > MAX_DATA_BYTES {
        return Err(PublishError::DataTooLarge);
    }
    if by.key.is_none() && !by.is_admin() {
        return Err(PublishError::Forbidden);
    }
    let channel = target.channel();
    // What is read outside the transaction is read before it begins (see
    // `Db::begin`): the stores `by` may act at, and whether a store or user exists.
    let mut staff_at = Vec::new();
    match (&target, &by.key) {
        (Target::Topic(_), _) => {}
        (Target::Store(s), _) => {
            if !db.store_exists(*s).await? {
                return Err(PublishError::NoSuchTarget);
            }
            if db.is_staff_of(by, *s).await? {
                staff_at.push(*s);
            }
        }
        (Target::User(u), None) => {
            if db.user(*u).await?.is_none() {
                return Err(PublishError::NoSuchTarget);
            }
        }
        (Target::User(_), Some(key)) => {
            for &s in &key.store_ids {
                if db.is_staff_of(by, s).await? {
                    staff_at.push(s);
                }
            }
        }
    }
    let mut tx = db.begin().await?;
    let allowed = match (&target, &by.key) {
        (Target::Topic(t), _) => {
            if !topics::exists(&mut tx, t).await? {
                return Err(PublishError::NoSuchTarget);
            }
            true
        }
        (Target::Store(_), _) => !staff_at.is_empty(),
        (Target::User(_), None) => true,
        (Target::User(u), Some(_)) => {
            let mut member = false;
            for &s in &staff_at {
                if members::is_member(&mut tx, s, *u).await? {
                    member = true;
                    break;
                }
            }
            member
        }
    };
    if !allowed {
        return Err(PublishError::Forbidden);
    }
    let id = tx.append_json(&channel, event_type, data).await?;
    tx.commit().await?;
    tracing::info!(id, %channel, event_type, by = by.user_id, api_key_id = by.key_id(), "published");
    Ok(Published {
        id,
        channel,
        event_type: event_type.to_string(),
    })
}

/// A new topic, as created.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NewTopic {
    pub name: String,
    pub created_at: String,
}

/// Creates a public topic (admins only); readers subscribe with `?topics=name`.
pub async fn create_topic(db: &Db, by: &Principal, name: &str) -> Result<NewTopic, PublishError> {
    if by.key.is_some() || !by.is_admin() {
        return Err(PublishError::NotAdmin);
    }
    if !params::is_app_topic_name(name) {
        return Err(PublishError::TopicName);
    }
    let at = now_millis();
    let mut tx = db.begin().await?;
    if !topics::insert(&mut tx, name, by.user_id, at).await? {
        return Err(PublishError::TopicExists);
    }
    tx.commit().await?;
    Ok(NewTopic {
        name: name.to_string(),
        created_at: rfc3339(at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_users_stores_or_topic_names() {
        assert_eq!(Target::parse("user:7").unwrap(), Target::User(7));
        assert_eq!(Target::parse("store:2").unwrap(), Target::Store(2));
        assert_eq!(
            Target::parse("deals").unwrap(),
            Target::Topic("deals".into())
        );
        for bad in [
            "user:", "user:x", "store:-1", "admin", "products", "a b", "",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn types_are_namespaced_under_app() {
        assert!(check_type("app.delivery.shipped").is_ok());
        for bad in ["mileage.granted", "app.", "app.Big", "stream.reset", "app"] {
            assert!(check_type(bad).is_err(), "{bad}");
        }
        assert!(check_type(&format!("app.{}", "a".repeat(MAX_TYPE_LEN))).is_err());
    }
}
