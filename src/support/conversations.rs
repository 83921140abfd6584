//! Conversations: a customer opens one, either side writes, either side closes.
//!
//! Every change appends its event in the same transaction: `support.opened`,
//! `support.message` and `support.closed` go to the customer's `user:` channel and
//! to the staff channel — `store:{id}` when the conversation names a store, else
//! `admin`. Admins read every `store:` channel as well as `admin`, so they see each
//! event exactly once; publishing on both would show every store message twice.

use std::time::Instant;

use serde::Serialize;

use super::events::{SupportClosed, SupportMessage, SupportOpened};
use super::{MessageText, SupportError};
use crate::auth::{Principal, Role};
use crate::db::Db;
use crate::db::members;
use crate::db::support::{self as sql, Conversation, Message, Party, Scope};
use crate::events::channel;
use crate::ratelimit::RateLimiter;

/// A conversation with one page of its messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Thread {
    pub conversation: Conversation,
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Pass as `before` for the previous page; `None` at the first message.
    pub next_before: Option<i64>,
}

/// What opening answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Opened {
    pub conversation: Conversation,
    pub message: Message,
}

/// The channels that hear about a conversation.
fn channels(c: &Conversation) -> [String; 2] {
    let staff = match c.store_id {
        Some(s) => channel::store(s),
        None => channel::ADMIN.to_string(),
    };
    [channel::user(c.customer.id), staff]
}

/// Whether `who` may read and write `c`: its customer, the staff of its store, admins.
async fn may_see(db: &Db, who: &Principal, c: &Conversation) -> anyhow::Result<bool> {
    Ok(match who.role {
        Role::Admin => true,
        Role::Customer => c.customer.id == who.user_id,
        Role::Owner => match c.store_id {
            Some(s) => db.is_staff_of(who, s).await?,
            None => false,
        },
    })
}

/// The conversation if `who` may see it; otherwise not found (its existence is not
/// revealed to others).
async fn visible(db: &Db, who: &Principal, id: i64) -> Result<Conversation, SupportError> {
    match db.conversation(id).await? {
        Some(c) if may_see(db, who, &c).await? => Ok(c),
        _ => Err(SupportError::NotFound),
    }
}

fn take_token(limiter: &RateLimiter, who: &Principal) -> Result<(), SupportError> {
    limiter
        .take(&who.user_id, Instant::now())
        .map_err(|r| SupportError::TooFast(r.secs()))
}

/// A customer opens a conversation with its first message, tied to a store: the
/// one named (which must be one of the customer's stores), else the customer's only
/// store; a customer of several stores or none who names none writes to the admins.
pub async fn open(
    db: &Db,
    limiter: &RateLimiter,
    who: &Principal,
    store_id: Option<i64>,
    text: &str,
) -> Result<Opened, SupportError> {
    let text = MessageText::parse(text)?;
    if who.role != Role::Customer {
        return Err(SupportError::NotACustomer);
    }
    let mine = members::stores_of(db, who.user_id).await?;
    let store_id = match store_id {
        Some(s) if mine.contains(&s) => Some(s),
        Some(s) if db.store_exists(s).await? => return Err(SupportError::NotAMember),
        Some(_) => return Err(SupportError::NoSuchStore),
        None if mine.len() == 1 => mine.first().copied(),
        None => None,
    };
    take_token(limiter, who)?;
    let mut tx = db.begin().await?;
    let id = sql::insert_conversation(&mut tx, who.user_id, store_id).await?;
    let message = sql::insert_message(&mut tx, id, &Party::from(who), text.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("a new conversation refused its first message"))?;
    let conversation = sql::conversation_in(&mut tx, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a new conversation vanished"))?;
    let [customer, staff] = channels(&conversation);
    let opened = SupportOpened {
        conversation: &conversation,
        message: &message,
    };
    tx.emit_to(&[&customer, &staff], &opened).await?;
    tx.commit().await?;
    log_message(who, &conversation, "conversation opened");
    Ok(Opened {
        conversation,
        message,
    })
}

/// Either side writes; the other side hears it at once. A closed conversation
/// refuses ([`SupportError::Closed`]).
pub async fn write(
    db: &Db,
    limiter: &RateLimiter,
    who: &Principal,
    conversation_id: i64,
    text: &str,
) -> Result<Message, SupportError> {
    let text = MessageText::parse(text)?;
    let conversation = visible(db, who, conversation_id).await?;
    if conversation.status != "open" {
        return Err(SupportError::Closed);
    }
    take_token(limiter, who)?;
    let mut tx = db.begin().await?;
    let message = sql::insert_message(&mut tx, conversation_id, &Party::from(who), text.as_str())
        .await?
        .ok_or(SupportError::Closed)?;
    let [customer, staff] = channels(&conversation);
    let written = SupportMessage {
        conversation_id,
        store_id: conversation.store_id,
        customer_id: conversation.customer.id,
        message: &message,
    };
    tx.emit_to(&[&customer, &staff], &written).await?;
    tx.commit().await?;
    log_message(who, &conversation, "chat message");
    Ok(message)
}

/// The operator's line for a chat message: who wrote, in which conversation, to
/// which store (never the text: it is the customer's).
fn log_message(who: &Principal, c: &Conversation, what: &str) {
    let login = &who.login;
    tracing::info!(
        target: "pointcast::action",
        action = "chat_message",
        by = %who.name,
        by_login = %login,
        role = who.role.as_str(),
        conversation_id = c.id,
        store_id = c.store_id.unwrap_or(0),
        outcome = "ok",
        "{what}"
    );
}

/// Either side closes an open conversation; closing twice is a conflict.
pub async fn close(
    db: &Db,
    who: &Principal,
    conversation_id: i64,
) -> Result<Conversation, SupportError> {
    visible(db, who, conversation_id).await?;
    let mut tx = db.begin().await?;
    if !sql::close_conversation(&mut tx, conversation_id, who.user_id).await? {
        return Err(SupportError::Closed);
    }
    let conversation = sql::conversation_in(&mut tx, conversation_id)
        .await?
        .ok_or(SupportError::NotFound)?;
    let [customer, staff] = channels(&conversation);
    let closed = SupportClosed {
        conversation: &conversation,
        closed_by: Party::from(who),
    };
    tx.emit_to(&[&customer, &staff], &closed).await?;
    tx.commit().await?;
    Ok(conversation)
}

/// The conversations `who` may see: a customer their own, an owner their stores',
/// an admin all; newest first.
pub async fn list(
    db: &Db,
    who: &Principal,
    status: Option<&str>,
    store_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Conversation>, SupportError> {
    let scope = match who.role {
        Role::Customer => Scope::Customer(who.user_id),
        Role::Owner => Scope::StaffOf(who.user_id),
        Role::Admin => Scope::All,
    };
    Ok(db
        .conversations(scope, status, store_id, before, limit)
        .await?)
}

/// One conversation with a page of messages (the newest `limit` below `before`).
pub async fn thread(
    db: &Db,
    who: &Principal,
    id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Thread, SupportError> {
    let conversation = visible(db, who, id).await?;
    let messages = db.messages(id, before, limit).await?;
    let next_before = match messages.first() {
        Some(m) if messages.len() as i64 == limit => Some(m.id),
        _ => None,
    };
    Ok(Thread {
        conversation,
        messages,
        next_before,
    })
}
