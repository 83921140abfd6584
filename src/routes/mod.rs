//! HTTP handlers only: parse, authorise, call the domain, map errors.
//! One file per area; each exposes `configure`.

mod admin;
mod announcements;
mod asyncapi;
mod audit;
mod auth;
mod bench;
mod events;
mod health;
mod jobs;
mod keys;
mod loyalty;
mod metrics;
pub mod openapi;
mod pages;
mod publish;
mod shop;
mod stores;
mod support;
mod users;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::transport;

/// Every route of the server.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(pages::configure)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .service(
            web::scope("/api/v1")
                .route("/events", web::get().to(transport::sse::stream))
                .route("/events/poll", web::get().to(transport::poll::poll))
                // The publishing routes next: actix tries resources in the order
                // they were registered, each one with a `{param}` by a regex, and
                // these are the ones a busy shop calls most (each route carries
                // its method as a guard, so the order changes no answer).
                .configure(announcements::configure)
                .configure(publish::configure)
                .configure(loyalty::configure)
                .configure(events::configure)
                .configure(auth::configure)
                .configure(users::configure)
                .configure(stores::configure)
                .configure(audit::configure)
                .configure(shop::configure)
                .configure(support::configure)
                .configure(admin::configure)
                .configure(jobs::configure)
                .configure(keys::configure)
                .configure(bench::configure)
                .configure(asyncapi::configure)
                .configure(openapi::configure),
        );
}

/// JSON bodies: malformed JSON is a 400, JSON of the wrong shape a 422, too large 413.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req: &HttpRequest| {
            use actix_web::error::JsonPayloadError as E;
            let api = match &err {
                E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::PayloadTooLarge,
                E::Payload(p) if crate::guard::is_body_timeout(p) => ApiError::RequestTimeout,
                E::ContentType => ApiError::bad_request(
                    "unsupported_media_type",
                    "send the body as application/json",
                ),
                E::Deserialize(e) if e.is_data() => {
                    ApiError::invalid("invalid_body", e.to_string())
                }
                E::Deserialize(e) => ApiError::bad_request("malformed_json", e.to_string()),
                other => ApiError::bad_request("bad_body", other.to_string()),
            };
            api.into()
        })
}

/// Query strings of the wrong shape are a 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::bad_request("bad_query", err.to_string()).into())
}

/// Path segments of the wrong shape (`/users/abc`) are a 404: no such thing exists.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::NotFound("resource").into())
}

/// The `Idempotency-Key` header that grants and orders require: a retry after a
/// lost answer must not credit or buy twice.
pub fn idempotency_key(req: &HttpRequest) -> Result<IdempotencyKey, ApiError> {
    let value = req.headers().get("idempotency-key").ok_or_else(|| {
        ApiError::bad_request(
            "missing_idempotency_key",
            "send an Idempotency-Key header with this request",
        )
    })?;
    value
        .to_str()
        .ok()
        .and_then(|s| IdempotencyKey::parse(s).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            )
        })
}

/// Unknown routes answer the JSON error shape too.
pub async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::NotFound("route"))
}
