//! Customer center storage: conversations, their messages, inquiries.
//!
//! Whether a conversation takes a message is decided by the row itself: writing a
//! message first bumps `last_message_at` on an *open* conversation, so a concurrent
//! close either commits before (the message is refused) or waits for the message's
//! transaction (PostgreSQL row lock; SQLite's single writer) and comes after it.

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use super::{Db, Tx};
use crate::auth::{Principal, Role};
use crate::time::now_millis;
use crate::time::rfc3339;

/// A conversation as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Conversation {
    pub id: i64,
    pub customer: Party,
    /// The store it was opened with; `None` goes to the admins.
    pub store_id: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    pub created_at: String,
    pub last_message_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<i64>,
    /// The store's name, for a list that shows where each chat goes.
    pub store_name: Option<String>,
}

/// Who wrote or owns something, as shown beside it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Party {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

impl From<&Principal> for Party {
    fn from(p: &Principal) -> Self {
        Self {
            id: p.user_id,
            name: p.name.clone(),
            role: p.role,
        }
    }
}

/// One message of a conversation.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub sender: Party,
    pub text: String,
    pub created_at: String,
}

/// Which conversations a list shows: the caller's own, their stores', or all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scope {
    /// A customer's own conversations.
    Customer(i64),
    /// The conversations of the stores this owner works at.
    StaffOf(i64),
    /// Every conversation (admins).
    All,
}

/// An inquiry as stored.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Inquiry {
    pub id: i64,
    pub user_id: Option<i64>,
    pub subject: String,
    pub message: String,
    pub reply_to: String,
    pub created_at: String,
    /// `sent`, `pending` (in the outbox, maybe retrying) or `none` (no mail set up).
    pub mail_status: String,
    pub mail_attempts: i64,
    /// `new`, `in_progress` or `closed`, as the admins move it.
    pub status: String,
    pub status_changed_at: Option<String>,
}

macro_rules! conversation_columns {
    () => {
        "c.id, c.customer_id, u.name, c.store_id, c.status, c.created_at, c.last_message_at, \
         c.closed_at, c.closed_by, s.name"
    };
}

fn conversation_from_row(r: &sql::Row) -> anyhow::Result<Conversation> {
    Ok(Conversation {
        id: r.try_get(0)?,
        customer: Party {
            id: r.try_get(1)?,
            name: r.try_get(2)?,
            role: Role::Customer,
        },
        store_id: r.try_get(3)?,
        status: r.try_get(4)?,
        created_at: rfc3339(r.try_get(5)?),
        last_message_at: rfc3339(r.try_get(6)?),
        closed_at: r.try_get::<Option<i64>, _>(7)?.map(rfc3339),
        closed_by: r.try_get(8)?,
        store_name: r.try_get(9)?,
    })
}

fn message_from_row(r: &sql::Row) -> anyhow::Result<Message> {
    let role: String = r.try_get(4)?;
    Ok(Message {
        id: r.try_get(0)?,
        conversation_id: r.try_get(1)?,
        sender: Party {
            id: r.try_get(2)?,
            name: r.try_get(3)?,
            role: Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?,
        },
        text: r.try_get(5)?,
        created_at: rfc3339(r.try_get(6)?),
    })
}

/// Creates an open conversation for `customer` in `tx`; returns its id.
pub async fn insert_conversation(
    tx: &mut Tx,
    customer_id: i64,
    store_id: Option<i64>,
) -> anyhow::Result<i64> {
    let now = now_millis();
    let id = sql::query(
        "INSERT INTO support_conversations (customer_id, store_id, status, created_at, last_message_at)
         VALUES ($1, $2, 'open', $3, $3)",
    )
    .bind(customer_id)
    .bind(store_id)
    .bind(now)
    .insert_id(tx.conn())
    .await
    .context("inserting a conversation")?;
    Ok(id)
}

/// Adds a message if the conversation is open; `None` when it is closed or gone.
pub async fn insert_message(
    tx: &mut Tx,
    conversation_id: i64,
    sender: &Party,
    text: &str,
) -> anyhow::Result<Option<Message>> {
    let now = now_millis();
    let open = sql::query(
        "UPDATE support_conversations SET last_message_at = $1 WHERE id = $2 AND status = 'open'",
    )
    .bind(now)
    .bind(conversation_id)
    .execute(tx.conn())
    .await
    .context("touching a conversation")?
    .rows_affected();
    if open == 0 {
        return Ok(None);
    }
    let id = sql::query(
        "INSERT INTO support_messages (conversation_id, sender_id, sender_name, sender_role, text, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation_id)
    .bind(sender.id)
    .bind(&sender.name)
    .bind(sender.role.as_str())
    .bind(text)
    .bind(now)
    .insert_id(tx.conn())
    .await
    .context("inserting a message")?;
    Ok(Some(Message {
        id,
        conversation_id,
        sender: sender.clone(),
        text: text.to_string(),
        created_at: rfc3339(now),
    }))
}

/// Closes an open conversation; `false` when it was not open.
pub async fn close_conversation(tx: &mut Tx, id: i64, by: i64) -> anyhow::Result<bool> {
    let n = sql::query(
        "UPDATE support_conversations SET status = 'closed', closed_at = $1, closed_by = $2
         WHERE id = $3 AND status = 'open'",
    )
    .bind(now_millis())
    .bind(by)
    .bind(id)
    .execute(tx.conn())
    .await
    .context("closing a conversation")?
    .rows_affected();
    Ok(n == 1)
}

/// A conversation read inside a write transaction (to build an event from it).
pub async fn conversation_in(tx: &mut Tx, id: i64) -> anyhow::Result<Option<Conversation>> {
    let row = sql::query(concat!(
        "SELECT ",
        conversation_columns!(),
        " FROM support_conversations c JOIN users u ON u.id = c.customer_id
             LEFT JOIN stores s ON s.id = c.store_id WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(conversation_from_row).transpose()
}

/// Stores an inquiry in `tx`; returns its id and time (unix millis).
pub async fn insert_inquiry(
    tx: &mut Tx,
    user_id: Option<i64>,
    subject: &str,
    message: &str,
    reply_to: &str,
) -> anyhow::Result<(i64, i64)> {
    let now = now_millis();
    let id = sql::query(
        "INSERT INTO inquiries (user_id, subject, message, reply_to, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(subject)
    .bind(message)
    .bind(reply_to)
    .bind(now)
    .insert_id(tx.conn())
    .await
    .context("inserting an inquiry")?;
    Ok((id, now))
}

impl Db {
    pub async fn conversation(&self, id: i64) -> anyhow::Result<Option<Conversation>> {
        let row = sql::query(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM support_conversations c JOIN users u ON u.id = c.customer_id
             LEFT JOIN stores s ON s.id = c.store_id WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await
        .context("reading a conversation")?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    /// Conversations in `scope`, newest first, optionally by status, by store and
    /// below an id.
    pub async fn conversations(
        &self,
        scope: Scope,
        status: Option<&str>,
        store_id: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> anyhow::Result<Vec<Conversation>> {
        let (mode, who) = match scope {
            Scope::Customer(id) => ("customer", id),
            Scope::StaffOf(id) => ("staff", id),
            Scope::All => ("all", 0),
        };
        let rows = sql::query(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM support_conversations c JOIN users u ON u.id = c.customer_id
             LEFT JOIN stores s ON s.id = c.store_id
             WHERE ($1 = 'all'
                    OR ($1 = 'customer' AND c.customer_id = $2)
                    OR ($1 = 'staff' AND c.store_id IN
                        (SELECT store_id FROM store_staff WHERE user_id = $2)))
               AND (CAST($3 AS TEXT) IS NULL OR c.status = $3)
               AND (CAST($4 AS BIGINT) IS NULL OR c.id < $4)
               AND (CAST($6 AS BIGINT) IS NULL OR c.store_id = $6)
             ORDER BY c.id DESC LIMIT $5"
        ))
        .bind(mode)
        .bind(who)
        .bind(status)
        .bind(before)
        .bind(limit)
        .bind(store_id)
        .fetch_all(self.reader())
        .await
        .context("listing conversations")?;
        rows.iter().map(conversation_from_row).collect()
    }

    /// Up to `limit` messages of a conversation with ids below `before`, oldest first.
    pub async fn messages(
        &self,
        conversation_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> anyhow::Result<Vec<Message>> {
        let rows = sql::query(
            "SELECT id, conversation_id, sender_id, sender_name, sender_role, text, created_at
             FROM support_messages
             WHERE conversation_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(conversation_id)
        .bind(before)
        .bind(limit)
        .fetch_all(self.reader())
        .await
        .context("reading messages")?;
        let mut messages = rows
            .iter()
            .map(message_from_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// Inquiries, newest first, with the state of their mail.
    /// Inquiries newest first, optionally by status, below an id, or (`only`) one.
    pub async fn inquiries(
        &self,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
        only: Option<i64>,
    ) -> anyhow::Result<Vec<Inquiry>> {
        let rows = sql::query(
            "SELECT i.id, i.user_id, i.subject, i.message, i.reply_to, i.created_at,
                    o.sent_at, o.attempts, o.id, i.status, i.status_changed_at
             FROM inquiries i LEFT JOIN mail_outbox o ON o.inquiry_id = i.id
             WHERE (CAST($1 AS BIGINT) IS NULL OR i.id < $1)
               AND (CAST($3 AS TEXT) IS NULL OR i.status = $3)
               AND (CAST($4 AS BIGINT) IS NULL OR i.id = $4)
             ORDER BY i.id DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .bind(status)
        .bind(only)
        .fetch_all(self.reader())
        .await
        .context("listing inquiries")?;
        rows.iter()
            .map(|r| {
                let sent_at: Option<i64> = r.try_get(6)?;
                let outbox: Option<i64> = r.try_get(8)?;
                Ok(Inquiry {
                    id: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    message: r.try_get(3)?,
                    reply_to: r.try_get(4)?,
                    created_at: rfc3339(r.try_get(5)?),
                    mail_status: match (outbox, sent_at) {
                        (None, _) => "none",
                        (Some(_), None) => "pending",
                        (Some(_), Some(_)) => "sent",
                    }
                    .into(),
                    mail_attempts: r.try_get::<Option<i64>, _>(7)?.unwrap_or(0),
                    status: r.try_get(9)?,
                    status_changed_at: r.try_get::<Option<i64>, _>(10)?.map(rfc3339),
                })
            })
            .collect()
    }
}

/// Moves an inquiry to `status`; false if there is no such inquiry.
pub async fn set_inquiry_status(
    tx: &mut Tx,
    id: i64,
    status: &str,
    by: i64,
    at: i64,
) -> anyhow::Result<bool> {
    let done = sql::query(
        "UPDATE inquiries SET status = $1, status_changed_at = $2, status_changed_by = $3
         WHERE id = $4",
    )
    .bind(status)
    .bind(at)
    .bind(by)
    .bind(id)
    .execute(tx.conn())
    .await
    .context("changing an inquiry's status")?
    .rows_affected();
    Ok(done == 1)
}
