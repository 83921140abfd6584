//! Every area's error, mapped to HTTP here and nowhere else: the status, the
//! stable snake_case `code` clients and pages key on, and the message. The areas
//! (`mileage`, `shop`, `stores`, ...) only say what went wrong, in their own
//! `thiserror` enums; a route returns them with `?`.

use serde_json::{Map, json};

use super::ApiError;
use crate::accounts::AccountError;
use crate::announcements::AnnounceError;
use crate::events::feed::FeedError;
use crate::events::params::ParamError;
use crate::jobs::JobError;
use crate::mileage::MileageError;
use crate::shop::ShopError;
use crate::stores::StoreError;
use crate::support::SupportError;

impl From<AnnounceError> for ApiError {
    fn from(e: AnnounceError) -> Self {
        match e {
            AnnounceError::Text | AnnounceError::Target => {
                ApiError::invalid("invalid_announcement", e.to_string())
            }
            AnnounceError::Forbidden => ApiError::Forbidden(
                "only admins announce to users or everyone; owners to their own stores",
            ),
            AnnounceError::NoSuchUser => ApiError::NotFound("user"),
            AnnounceError::NoSuchStore => ApiError::NotFound("store"),
            AnnounceError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Unknown => ApiError::NotFound("job"),
            JobError::Schedule(s) => ApiError::invalid("invalid_schedule", s.to_string()),
            JobError::Running => ApiError::conflict("job_running", e.to_string()),
            JobError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("store"),
            StoreError::Unexpected(e) => ApiError::Unexpected(e),
            other => ApiError::invalid("invalid_store", other.to_string()),
        }
    }
}

impl From<ShopError> for ApiError {
    fn from(e: ShopError) -> Self {
        match e {
            ShopError::Quantity => ApiError::invalid("invalid_quantity", e.to_string()),
            ShopError::StockLevel | ShopError::Delta => {
                ApiError::invalid("invalid_stock", e.to_string())
            }
            ShopError::Price | ShopError::Text(_) | ShopError::EmptyUpdate => {
                ApiError::invalid("invalid_product", e.to_string())
            }
            ShopError::Reason => ApiError::invalid("invalid_reason", e.to_string()),
            ShopError::Period => ApiError::bad_request("invalid_period", e.to_string()),
            ShopError::NoSuchProduct => ApiError::NotFound("product"),
            ShopError::NoSuchStore => ApiError::NotFound("store"),
            ShopError::NoSuchUser => ApiError::NotFound("user"),
            ShopError::Forbidden(m) => ApiError::Forbidden(m),
            ShopError::InsufficientStock { available } => {
                let mut details = Map::new();
                details.insert("available".into(), json!(available));
                ApiError::Conflict {
                    code: "insufficient_stock",
                    message: e.to_string(),
                    details: Some(details),
                }
            }
            ShopError::NoSuchOrder => ApiError::NotFound("order"),
            ShopError::InStock { quantity } => {
                let mut details = Map::new();
                details.insert("quantity".into(), json!(quantity));
                ApiError::Conflict {
                    code: "in_stock",
                    message: e.to_string(),
                    details: Some(details),
                }
            }
            ShopError::NotWatching => ApiError::NotFound("watch"),
            ShopError::NoSuchCoupon => ApiError::NotFound("coupon"),
            ShopError::CouponOtherStore => {
                ApiError::Forbidden("this coupon belongs to another store: it pays only there")
            }
            ShopError::CouponNotActive => ApiError::conflict("coupon_not_active", e.to_string()),
            ShopError::CouponExpired => ApiError::conflict("coupon_expired", e.to_string()),
            ShopError::ReturnExceeds { .. } => {
                ApiError::invalid("return_exceeds_order", e.to_string())
            }
            ShopError::ReturnReason => ApiError::invalid("invalid_reason", e.to_string()),
            ShopError::Loyalty(e) => e.into(),
            ShopError::KeyReused(_) => ApiError::conflict("idempotency_key_reused", e.to_string()),
            ShopError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<crate::accounts::api_keys::KeyError> for ApiError {
    fn from(e: crate::accounts::api_keys::KeyError) -> Self {
        use crate::accounts::api_keys::KeyError as E;
        let message = e.to_string();
        match e {
            E::Name | E::Scopes(_) | E::TooManyStores | E::NoStores | E::NoSuchStore(_) => {
                ApiError::invalid("invalid_api_key", message)
            }
            E::NotYourStore => ApiError::Refused {
                code: "not_your_store",
                message,
                details: Default::default(),
            },
            E::NotStaff => ApiError::Forbidden("only admins and owners manage API keys"),
            E::NotFound => ApiError::NotFound("api key"),
            E::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<crate::publish::PublishError> for ApiError {
    fn from(e: crate::publish::PublishError) -> Self {
        use crate::publish::PublishError as E;
        let message = e.to_string();
        match e {
            E::Channel => ApiError::invalid("invalid_channel", message),
            E::Type => ApiError::invalid("invalid_type", message),
            E::DataShape => ApiError::invalid("invalid_data", message),
            E::DataTooLarge => ApiError::PayloadTooLarge,
            E::TopicName => ApiError::invalid("invalid_topic", message),
            E::TopicExists => ApiError::conflict("topic_exists", message),
            E::Forbidden => ApiError::Forbidden(
                "only admins and API keys with the publish scope publish, and keys only for their stores and members",
            ),
            E::NotAdmin => ApiError::Forbidden("only admins create topics"),
            E::NoSuchTarget => ApiError::NotFound("user, store or topic"),
            E::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        use AccountError as E;
        let message = e.to_string();
        match e {
            E::Name | E::Phone | E::Password | E::Login | E::EmptyPatch => {
                ApiError::invalid("invalid_account", message)
            }
            E::StaffRole | E::TooManyStores | E::NoSuchStore(_) => {
                ApiError::invalid("invalid_staff", message)
            }
            E::LoginTaken => ApiError::conflict("login_taken", message),
            E::Location => ApiError::invalid("invalid_location", message),
            E::NotFound => ApiError::NotFound("user"),
            E::Gone => ApiError::Unauthorized("user no longer exists"),
            E::WrongCredentials => ApiError::Unauthorized("wrong login or password"),
            E::Throttled(wait) => ApiError::TooManyRequests {
                message,
                retry_after: Some(wait),
            },
            E::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<SupportError> for ApiError {
    fn from(e: SupportError) -> Self {
        match e {
            SupportError::Text => ApiError::invalid("invalid_text", e.to_string()),
            SupportError::Subject | SupportError::InquiryMessage | SupportError::ReplyTo => {
                ApiError::invalid("invalid_inquiry", e.to_string())
            }
            SupportError::Status => ApiError::bad_request("bad_query", e.to_string()),
            SupportError::Limit => ApiError::invalid("invalid_limit", e.to_string()),
            SupportError::NotACustomer => ApiError::Forbidden("only customers open conversations"),
            SupportError::NoSuchStore => ApiError::invalid("unknown_store", "no such store"),
            SupportError::NotAMember => ApiError::invalid("not_a_member", e.to_string()),
            SupportError::NotFound => ApiError::NotFound("conversation"),
            SupportError::NoSuchInquiry => ApiError::NotFound("inquiry"),
            SupportError::InquiryStatus => ApiError::invalid("invalid_status", e.to_string()),
            SupportError::Closed => {
                ApiError::conflict("conversation_closed", "the conversation is closed")
            }
            SupportError::TooFast(secs) | SupportError::TooManyInquiries(secs) => {
                ApiError::TooManyRequests {
                    message: e.to_string(),
                    retry_after: Some(secs),
                }
            }
            SupportError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<MileageError> for ApiError {
    fn from(e: MileageError) -> Self {
        use MileageError as E;
        match e {
            E::Points => ApiError::invalid("invalid_points", e.to_string()),
            E::Reason => ApiError::invalid("invalid_reason", e.to_string()),
            E::TooManyCoupons => ApiError::invalid("too_many_coupons", e.to_string()),
            E::NotACustomer => ApiError::invalid("not_a_customer", e.to_string()),
            E::NotStaff => {
                ApiError::Forbidden("only staff of this store grant mileage and see its members")
            }
            E::NotYours => {
                ApiError::Forbidden("a customer sees and changes only their own loyalty data")
            }
            E::OtherStore => ApiError::Forbidden(
                "this coupon belongs to another store: only its own store redeems it",
            ),
            E::NoSuchStore => ApiError::NotFound("store"),
            E::NoSuchUser => ApiError::NotFound("user"),
            E::NotAMember => ApiError::NotFound("member"),
            E::NoSuchCoupon => ApiError::NotFound("coupon"),
            E::AlreadyRedeemed => ApiError::conflict("already_redeemed", e.to_string()),
            E::NotActive => ApiError::conflict("coupon_not_active", e.to_string()),
            E::Expired => ApiError::conflict("coupon_expired", e.to_string()),
            E::ReasonCode => ApiError::invalid("invalid_reason_code", e.to_string()),
            E::CorrectionBelowZero { .. } => {
                ApiError::invalid("correction_below_zero", e.to_string())
            }
            E::CapExceeded { left } => {
                let mut details = Map::new();
                details.insert("left".into(), json!(left));
                ApiError::Refused {
                    code: "grant_cap_exceeded",
                    message: e.to_string(),
                    details,
                }
            }
            E::KeyReused(_) => ApiError::conflict("idempotency_key_reused", e.to_string()),
            E::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Param(e) => e.into(),
            FeedError::NoChannels => ApiError::bad_request("no_channels", e.to_string()),
            FeedError::TooManyStreams(e) => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: Some(5),
            },
            FeedError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

/// A refused stream parameter is a 400 whose code names the parameter.
impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        let code = match e {
            ParamError::Cursor(_) => "bad_cursor",
            ParamError::Topic(_) => "bad_topics",
            ParamError::Types(_) => "bad_types",
            ParamError::Timeout { .. } => "bad_timeout",
        };
        ApiError::bad_request(code, e.to_string())
    }
}
