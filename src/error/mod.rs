//! The one API error type and its one mapping to HTTP (DESIGN.md §4).
//!
//! Domain errors (`thiserror` enums per area) convert into [`ApiError`] in
//! `domain.rs`; only this module decides statuses and the JSON shape
//! `{"error": {"code", "message"}}`.

mod codes;
mod domain;

pub use codes::{ALL_CODES, is_known};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

/// An error as a client sees it: a status, a stable snake_case code, a message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad query, bad header).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 422: well-formed but the values are not acceptable.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 401: no credentials, or credentials that do not check out.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403 with a code of its own and details merged into the error object (for
    /// example the points left under a daily cap).
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        details: Map<String, Value>,
    },
    /// 404: the named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with the current state; `details` are merged into
    /// the error object (for example the quantity left).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Option<Map<String, Value>>,
    },
    /// 408: the request's body did not arrive within the request timeout.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// 413: the body is larger than the server accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429: over a limit; `retry_after` in seconds becomes a `Retry-After` header.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: Option<u64>,
    },
    /// 431: the request head is larger than the server reads.
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// 503: shutting down or not ready.
    #[error("service unavailable")]
    Unavailable,
    /// 500: a server fault. The cause is logged, never sent.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Invalid { code, .. }
            | Self::Conflict { code, .. }
            | Self::Refused { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::HeadersTooLarge => "headers_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable => "unavailable",
            Self::Unexpected(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        if let Some(header) = self.extra_header() {
            resp.insert_header(header);
        }
        if matches!(self, Self::RequestTimeout) {
            // The rest of the body may still come: this connection is done.
            resp.force_close();
        }
        resp.json(self.body())
    }
}

impl ApiError {
    /// The JSON body `{"error": {"code", "message", ...}}`. A server fault is logged
    /// here and answered with a generic message.
    pub fn body(&self) -> Value {
        let message = match self {
            Self::Unexpected(e) => {
                tracing::error!(error = ?e, "request failed");
                "internal server error".to_string()
            }
            other => other.to_string(),
        };
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code()));
        body.insert("message".into(), json!(message));
        if let Self::Conflict {
            details: Some(d), ..
        } = self
        {
            body.extend(d.clone());
        }
        if let Self::Refused { details, .. } = self {
            body.extend(details.clone());
        }
        json!({ "error": body })
    }

    /// The one header some errors add: `Retry-After` on 429, `WWW-Authenticate` on 401.
    pub fn extra_header(&self) -> Option<(&'static str, String)> {
        match self {
            Self::TooManyRequests {
                retry_after: Some(s),
                ..
            } => Some(("Retry-After", s.to_string())),
            Self::Unauthorized(_) => Some(("WWW-Authenticate", "Bearer".to_string())),
            _ => None,
        }
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
