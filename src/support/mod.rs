//! The customer center (DESIGN.md §3): 1:1 conversations between a customer and
//! staff, and inquiries mailed to the admins.
//!
//! This file holds the pure rules (what a message, an inquiry, a page may be);
//! [`conversations`] and [`inquiries`] apply them against the store. Free of HTTP.

pub mod conversations;
pub mod events;
pub mod inquiries;

use thiserror::Error;

/// Longest chat message, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest inquiry subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest inquiry message, in characters.
pub const MAX_INQUIRY_CHARS: usize = 10_000;
/// Page size when none is asked for, and the largest one served.
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

#[derive(Debug, Error)]
pub enum SupportError {
    #[error("text must be 1 to {MAX_TEXT_CHARS} characters, not only whitespace")]
    Text,
    #[error("subject must be 1 to {MAX_SUBJECT_CHARS} characters on one line")]
    Subject,
    #[error("message must be 1 to {MAX_INQUIRY_CHARS} characters, not only whitespace")]
    InquiryMessage,
    #[error("reply_to must be an e-mail address")]
    ReplyTo,
    #[error("status must be open or closed")]
    Status,
    #[error("limit must be 1 to {MAX_PAGE}")]
    Limit,
    #[error("only customers open conversations")]
    NotACustomer,
    #[error("store")]
    NoSuchStore,
    #[error("you are not a member of this store: join it first, or write to the customer center")]
    NotAMember,
    #[error("conversation")]
    NotFound,
    #[error("inquiry")]
    NoSuchInquiry,
    #[error("status must be new, in_progress or closed")]
    InquiryStatus,
    #[error("the conversation is closed")]
    Closed,
    #[error("too many messages: try again in {0} s")]
    TooFast(u64),
    #[error("too many inquiries from this address: try again in {0} s")]
    TooManyInquiries(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A chat message's text: trimmed, 1 to [`MAX_TEXT_CHARS`] characters, no control
/// characters but line breaks and tabs.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(s: &str) -> Result<Self, SupportError> {
        bounded_text(s, MAX_TEXT_CHARS)
            .map(Self)
            .ok_or(SupportError::Text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated inquiry.
#[derive(Clone, Debug, PartialEq)]
pub struct NewInquiry {
    pub subject: String,
    pub message: String,
    pub reply_to: String,
}

impl NewInquiry {
    pub fn parse(subject: &str, message: &str, reply_to: &str) -> Result<Self, SupportError> {
        let subject = bounded_text(subject, MAX_SUBJECT_CHARS)
            .filter(|s| !s.contains(['\n', '\r', '\t']))
            .ok_or(SupportError::Subject)?;
        let message =
            bounded_text(message, MAX_INQUIRY_CHARS).ok_or(SupportError::InquiryMessage)?;
        let reply_to = reply_to.trim();
        if reply_to.len() > 254 || reply_to.parse::<lettre::Address>().is_err() {
            return Err(SupportError::ReplyTo);
        }
        Ok(Self {
            subject,
            message,
            reply_to: reply_to.to_string(),
        })
    }
}

/// Conversation status filter.
pub fn parse_status(s: Option<&str>) -> Result<Option<&'static str>, SupportError> {
    match s {
        None => Ok(None),
        Some("open") => Ok(Some("open")),
        Some("closed") => Ok(Some("closed")),
        Some(_) => Err(SupportError::Status),
    }
}

/// Page size: [`DEFAULT_PAGE`] when absent, 1 to [`MAX_PAGE`] otherwise.
pub fn page_limit(limit: Option<i64>) -> Result<i64, SupportError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(SupportError::Limit),
    }
}

/// `s` trimmed, if it then has 1 to `max` characters and no control characters
/// other than line breaks and tabs.
fn bounded_text(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    let n = s.chars().count();
    let clean = !s
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (n >= 1 && n <= max && clean).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_is_trimmed_and_bounded() {
        assert_eq!(MessageText::parse("  hi\n").unwrap().as_str(), "hi");
        assert_eq!(
            MessageText::parse("line one\nline two").unwrap().as_str(),
            "line one\nline two"
        );
        assert!(MessageText::parse("").is_err());
        assert!(MessageText::parse(" \n\t ").is_err());
        assert!(MessageText::parse("bell\u{7}").is_err());
        assert!(MessageText::parse(&"가".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(MessageText::parse(&"가".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn inquiries_need_a_subject_line_a_message_and_an_address() {
        let ok = NewInquiry::parse(" Refund ", "My order...", "kim@example.com").unwrap();
        assert_eq!(ok.subject, "Refund");
        assert!(matches!(
            NewInquiry::parse("a\nBcc: x@y.z", "m", "kim@example.com"),
            Err(SupportError::Subject)
        ));
        assert!(matches!(
            NewInquiry::parse("s", "   ", "kim@example.com"),
            Err(SupportError::InquiryMessage)
        ));
        for bad in ["", "kim", "kim@", "a b@example.com", "<kim@example.com>"] {
            assert!(
                matches!(NewInquiry::parse("s", "m", bad), Err(SupportError::ReplyTo)),
                "{bad}"
            );
        }
    }

    #[test]
    fn status_and_limits() {
        assert_eq!(parse_status(Some("open")).unwrap(), Some("open"));
        assert_eq!(parse_status(None).unwrap(), None);
        assert!(parse_status(Some("pending")).is_err());
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(MAX_PAGE + 1)).is_err());
    }
}
