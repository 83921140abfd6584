//! The durable mail outbox: a mail is a row written in the same transaction as the
//! thing it announces, so it exists exactly when that thing does, and it is marked
//! sent only after the SMTP server accepted it.
//!
//! Claiming differs per backend. PostgreSQL may run several instances: a worker
//! takes a due row with `FOR UPDATE SKIP LOCKED` and holds that lock (its
//! transaction) across the SMTP conversation, so no other instance sends it
//! meanwhile. SQLite has one process and one writer: holding a write transaction
//! across a network call would stall every writer, so the (single) worker reads due
//! rows without a lock and records the outcome in a short transaction afterwards.

use crate::db::sql;
use anyhow::Context;

use super::{Backend, Db, Tx};
use crate::time::now_millis;

/// A mail to put in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMail<'a> {
    pub inquiry_id: Option<i64>,
    pub to: &'a str,
    pub reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub body: &'a str,
}

/// A mail due to be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMail {
    pub id: i64,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub body: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// A claimed mail: record its outcome with [`Claimed::sent`] or [`Claimed::failed`].
/// Dropping it unrecorded leaves the mail due (on PostgreSQL the lock goes with it).
pub struct Claimed {
    pub mail: OutboxMail,
    db: Db,
    /// PostgreSQL: the transaction holding the row lock.
    tx: Option<Tx>,
}

/// Puts a mail in the outbox inside the caller's transaction; due at once.
pub async fn enqueue(tx: &mut Tx, mail: &NewMail<'_>) -> anyhow::Result<i64> {
    let now = now_millis();
    let id = sql::query(
        "INSERT INTO mail_outbox (inquiry_id, to_addr, reply_to, subject, body, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(mail.inquiry_id)
    .bind(mail.to)
    .bind(mail.reply_to)
    .bind(mail.subject)
    .bind(mail.body)
    .bind(now)
    .insert_id(tx.conn())
    .await
    .context("putting a mail in the outbox")?;
    Ok(id)
}

fn mail_from_row(r: &sql::Row) -> anyhow::Result<OutboxMail> {
    Ok(OutboxMail {
        id: r.try_get(0)?,
        to: r.try_get(1)?,
        reply_to: r.try_get(2)?,
        subject: r.try_get(3)?,
        body: r.try_get(4)?,
        attempts: r.try_get(5)?,
    })
}

impl Db {
    /// The oldest due, unsent mail, claimed for this worker.
    pub async fn claim_due_mail(&self) -> anyhow::Result<Option<Claimed>> {
        let now = now_millis();
        match self.backend() {
            Backend::Postgres => {
                let mut tx = self.begin().await?;
                let row = sql::query(
                    "SELECT id, to_addr, reply_to, subject, body, attempts FROM mail_outbox
                     WHERE sent_at IS NULL AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                )
                .bind(now)
                .fetch_optional(tx.conn())
                .await
                .context("claiming a due mail")?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(Claimed {
                    mail: mail_from_row(&row)?,
                    db: self.clone(),
                    tx: Some(tx),
                }))
            }
            Backend::Sqlite => {
                let row = sql::query(
                    "SELECT id, to_addr, reply_to, subject, body, attempts FROM mail_outbox
                     WHERE sent_at IS NULL AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT 1",
                )
                .bind(now)
                .fetch_optional(self.reader())
                .await
                .context("reading a due mail")?;
                row.map(|r| {
                    Ok(Claimed {
                        mail: mail_from_row(&r)?,
                        db: self.clone(),
                        tx: None,
                    })
                })
                .transpose()
            }
        }
    }

    /// When the next unsent mail falls due (unix millis), if there is one.
    pub async fn next_mail_due(&self) -> anyhow::Result<Option<i64>> {
        let row = sql::query("SELECT MIN(next_attempt_at) FROM mail_outbox WHERE sent_at IS NULL")
            .fetch_one(self.reader())
            .await
            .context("reading the outbox")?;
        row.try_get(0)
    }
}

impl Claimed {
    /// The SMTP server accepted the mail: it is never sent again.
    pub async fn sent(self) -> anyhow::Result<()> {
        let id = self.mail.id;
        let mut tx = self.into_tx().await?;
        sql::query("UPDATE mail_outbox SET sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(now_millis())
            .bind(id)
            .execute(tx.conn())
            .await
            .context("marking a mail sent")?;
        tx.commit().await
    }

    /// The attempt failed: try again at `retry_at` (unix millis).
    pub async fn failed(self, error: &str, retry_at: i64) -> anyhow::Result<()> {
        let id = self.mail.id;
        let mut tx = self.into_tx().await?;
        sql::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
             WHERE id = $3 AND sent_at IS NULL",
        )
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("recording a failed mail")?;
        tx.commit().await
    }

    /// The transaction holding the claim (PostgreSQL), or a fresh short one (SQLite).
    async fn into_tx(self) -> anyhow::Result<Tx> {
        match self.tx {
            Some(tx) => Ok(tx),
            None => self.db.begin().await,
        }
    }
}
