//! Inquiries: open to anyone. Stored, pushed to the admins as `inquiry.received`,
//! and, when mail is set up, mailed to the admin address through the outbox
//! (`src/mail.rs` sends it). The inquiry, its event and its outbox row commit
//! together, so the inquiry is saved whatever the mail server does, and its mail is
//! never lost.

use std::net::IpAddr;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Notify;

use super::events::InquiryReceived;
use super::{NewInquiry, SupportError};
use crate::auth::Principal;
use crate::db::Db;
use crate::db::outbox::{self, NewMail};
use crate::db::support::{self as sql, Inquiry, Party};
use crate::events::channel;
use crate::ratelimit::RateLimiter;
use crate::time::rfc3339;

/// What posting answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    pub id: i64,
    pub created_at: String,
    /// Whether a mail to the admins was queued.
    pub mailed: bool,
}

/// The subject line of an inquiry's mail.
pub fn mail_subject(subject: &str) -> String {
    format!("[pointcast inquiry] {subject}")
}

/// The body of an inquiry's mail.
pub fn mail_body(id: i64, inquiry: &NewInquiry, from: Option<&Principal>) -> String {
    let who = match from {
        Some(p) => format!("{} (user {}, {})", p.name, p.user_id, p.role),
        None => "a visitor without an account".to_string(),
    };
    format!(
        "Inquiry #{id} from {who}\nReply to: {}\n\n{}\n",
        inquiry.reply_to, inquiry.message
    )
}

/// Where an inquiry comes from, for the per-address limit: the form is open to
/// anyone, so a flood from one address must not fill the table, the admins' feed
/// and their mailbox.
pub struct Sender<'a> {
    pub limiter: &'a RateLimiter<IpAddr>,
    pub address: Option<IpAddr>,
}

/// Stores an inquiry, tells the admins, and queues its mail to `admin_email`
/// (when mail is set up), then wakes the mailer. Refused with
/// [`SupportError::TooManyInquiries`] when its address is over its limit.
pub async fn submit(
    db: &Db,
    sender: Sender<'_>,
    mailer: &Notify,
    admin_email: Option<&str>,
    from: Option<&Principal>,
    inquiry: &NewInquiry,
) -> Result<Received, SupportError> {
    if let Some(address) = sender.address {
        sender
            .limiter
            .take(&address, Instant::now())
            .map_err(|r| SupportError::TooManyInquiries(r.secs()))?;
    }
    let mut tx = db.begin().await?;
    let (id, at) = sql::insert_inquiry(
        &mut tx,
        from.map(|p| p.user_id),
        &inquiry.subject,
        &inquiry.message,
        &inquiry.reply_to,
    )
    .await?;
    if let Some(to) = admin_email {
        let (subject, body) = (mail_subject(&inquiry.subject), mail_body(id, inquiry, from));
        outbox::enqueue(
            &mut tx,
            &NewMail {
                inquiry_id: Some(id),
                to,
                reply_to: Some(&inquiry.reply_to),
                subject: &subject,
                body: &body,
            },
        )
        .await?;
    }
    let created_at = rfc3339(at);
    let received = InquiryReceived {
        id,
        subject: &inquiry.subject,
        message: &inquiry.message,
        reply_to: &inquiry.reply_to,
        user: from.map(Party::from),
        created_at: &created_at,
    };
    tx.emit(channel::ADMIN, &received).await?;
    tx.commit().await?;
    tracing::info!(
        target: "pointcast::action",
        action = "inquiry",
        inquiry_id = id,
        from = from.map_or("visitor", |p| p.name.as_str()),
        user_id = from.map_or(0, |p| p.user_id),
        mailed = admin_email.is_some(),
        outcome = "ok",
        "inquiry received"
    );
    if admin_email.is_some() {
        mailer.notify_one();
    }
    Ok(Received {
        id,
        created_at,
        mailed: admin_email.is_some(),
    })
}

/// Inquiries, newest first (`limit` of them below `before`), with the state of
/// their mail. Who may read them is the route's decision (admins).
pub async fn list(
    db: &Db,
    status: Option<InquiryStatus>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Inquiry>, SupportError> {
    Ok(db
        .inquiries(status.map(InquiryStatus::as_str), before, limit, None)
        .await?)
}

/// Where an inquiry is in the admins' work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InquiryStatus {
    New,
    InProgress,
    Closed,
}

impl InquiryStatus {
    pub fn parse(s: &str) -> Result<Self, SupportError> {
        match s {
            "new" => Ok(Self::New),
            "in_progress" => Ok(Self::InProgress),
            "closed" => Ok(Self::Closed),
            _ => Err(SupportError::InquiryStatus),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::InProgress => "in_progress",
            Self::Closed => "closed",
        }
    }
}

/// An admin moves an inquiry to `status`; answers it as it is now.
pub async fn set_status(
    db: &Db,
    who: &Principal,
    id: i64,
    status: InquiryStatus,
) -> Result<Inquiry, SupportError> {
    let mut tx = db.begin().await?;
    let now = crate::time::now_millis();
    if !sql::set_inquiry_status(&mut tx, id, status.as_str(), who.user_id, now).await? {
        return Err(SupportError::NoSuchInquiry);
    }
    tx.commit().await?;
    tracing::info!(
        target: "pointcast::action",
        action = "inquiry_status",
        inquiry_id = id,
        status = status.as_str(),
        by = %who.name,
        "inquiry status changed"
    );
    db.inquiries(None, None, 1, Some(id))
        .await?
        .pop()
        .ok_or(SupportError::NoSuchInquiry)
}
