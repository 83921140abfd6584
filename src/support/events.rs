//! The customer center's events: their type names and payloads, in one place.
//!
//! A conversation's events go to the customer's `user:` channel and to the staff
//! channel (see [`super::conversations`]); an inquiry's to `admin`.

use serde::Serialize;

use crate::db::support::{Conversation, Message, Party};
use crate::events::Payload;

/// `support.opened`: a customer opened a conversation with its first message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupportOpened<'a> {
    pub conversation: &'a Conversation,
    pub message: &'a Message,
}

impl Payload for SupportOpened<'_> {
    const TYPE: &'static str = "support.opened";
}

/// `support.message`: either side wrote in an open conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupportMessage<'a> {
    pub conversation_id: i64,
    pub store_id: Option<i64>,
    pub customer_id: i64,
    pub message: &'a Message,
}

impl Payload for SupportMessage<'_> {
    const TYPE: &'static str = "support.message";
}

/// `support.closed`: either side closed the conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupportClosed<'a> {
    pub conversation: &'a Conversation,
    pub closed_by: Party,
}

impl Payload for SupportClosed<'_> {
    const TYPE: &'static str = "support.closed";
}

/// `inquiry.received`, to the admins: an inquiry as stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InquiryReceived<'a> {
    pub id: i64,
    pub subject: &'a str,
    pub message: &'a str,
    pub reply_to: &'a str,
    /// Who sent it when logged in; `None` for a visitor.
    pub user: Option<Party>,
    pub created_at: &'a str,
}

impl Payload for InquiryReceived<'_> {
    const TYPE: &'static str = "inquiry.received";
}
