//! The OpenAPI document (`GET /api/v1/openapi.json`) and its reference page
//! (`GET /api/v1/docs`).
//!
//! The document is generated from the `#[utoipa::path]` annotations on the handlers
//! and the `ToSchema` derives on the types they answer with, so it cannot drift from
//! the code silently: `tests/api/openapi.rs` checks every registered route is in it
//! and `scripts/test-fuzz` checks the answers match it. Bodies built with `json!`
//! in a handler are described by the small documentation-only types below.
//!
//! Error statuses every route of a kind can answer are added in [`finish`] rather
//! than repeated on each annotation: 401 wherever a token is taken, 400/413/422
//! wherever a JSON body is, 400 wherever a query string is parsed, 404 wherever a
//! path has parameters (a segment of the wrong shape names nothing), and 422
//! wherever a query string is (a `limit` out of its range). Every error response
//! gets the one error shape, [`ErrorBody`].
//!
//! Limits are part of the document: every string in a request body has its
//! `maxLength`, every array its `maxItems`, every number its range, every `limit`
//! parameter its `maximum` (`tests/api/openapi.rs` checks none is missing). Times
//! follow one naming rule, applied in [`finish`]: a string property named `at` or
//! ending in `_at` is `format: date-time` (RFC 3339 UTC); `day`, `from` and `to`
//! are `format: date`.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::{
    admin, announcements, asyncapi, audit, auth, events, jobs, keys, loyalty, publish, shop,
    stores, support, users,
};
use crate::db::shop::{InventoryRow, Order, ProductChange, SalesRow, StockItem};
use crate::db::stores::{DesignChange, Store};
use crate::db::support::{Conversation, Inquiry};
use crate::db::users::User;
use crate::mileage::model::{Balance, Coupon, Entry, Member, Redemption};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_page));
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pointcast",
        description = "Real-time push server for a shop's loyalty program and record store. \
            Money is whole won, points are integers, times are RFC 3339 UTC. Errors are \
            `{\"error\": {\"code\", \"message\"}}`.",
    ),
    paths(
        auth::login, auth::logout, auth::me,
        users::sign_up, users::get, users::exists, users::update, users::share_location,
        stores::create_staff,
        stores::create, stores::list, stores::get, stores::update, stores::set_design,
        stores::design_history,
        loyalty::members, loyalty::find_customer, loyalty::my_stores,
        loyalty::join, loyalty::leave, loyalty::grant,
        loyalty::balances, loyalty::entries, loyalty::coupons, loyalty::redeem,
        loyalty::redemptions, audit::list,
        shop::list_products, shop::create_product, shop::get_product, shop::update_product,
        shop::product_history, shop::product_stock, shop::store_stock, shop::set_stock,
        shop::adjust_stock, shop::place_order, shop::return_order, shop::store_orders,
        shop::user_orders, shop::sales, shop::watch, shop::unwatch, shop::user_watches,
        shop::inventory,
        support::open, support::list, support::thread, support::write, support::close,
        support::inquire, support::list_inquiries, support::set_inquiry_status,
        announcements::create,
        events_stream, events_poll, events::ticket,
        admin::connections, admin::disconnect_user,
        jobs::list, jobs::reschedule, jobs::run, jobs::runs,
        keys::list, keys::create, keys::revoke,
        publish::publish_event, publish::create_topic, publish::list_topics,
        openapi_json, docs_page, asyncapi::asyncapi_json,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "auth", description = "Log in and out; who am I"),
        (name = "users", description = "Customer sign-up and accounts"),
        (name = "staff", description = "Owners and admins (admin only)"),
        (name = "stores", description = "Stores and their coupon designs"),
        (name = "members", description = "Store memberships"),
        (name = "mileage", description = "The mileage ledger"),
        (name = "coupons", description = "Coupons and redemptions"),
        (name = "audit", description = "The audit trail of staff actions that move money or stock"),
        (name = "products", description = "The record shop's albums"),
        (name = "stock", description = "Per-store stock"),
        (name = "orders", description = "Orders that never oversell"),
        (name = "sales", description = "Sales and inventory views (staff)"),
        (name = "support", description = "Live 1:1 support chat"),
        (name = "inquiries", description = "Inquiries mailed to the admins"),
        (name = "announcements", description = "Announcements pushed to users, stores or everyone"),
        (name = "events", description = "The push channel: SSE and long-poll"),
        (name = "admin", description = "Connections and scheduled jobs (admin only)"),
        (name = "keys", description = "API keys for a shop's other systems"),
        (name = "publish", description = "Integrators' own `app.` events, and the public topics they go to"),
        (name = "meta", description = "This document and its reference page"),
    )
)]
struct ApiDoc;

/// Every error: `{"error": {"code": "insufficient_stock", "message": "..."}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable snake_case `code` and a human `message`; a 409 may add details such as
/// `available`.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// `POST /auth/login`.
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    /// Send as `Authorization: Bearer <token>`; also set as a cookie.
    pub token: String,
    pub user: User,
}

pub use crate::accounts::{LatLon, UserWithStores};

/// `GET /users/{id}`: the location is shown to the user themself and admins only.
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: User,
    pub location: Option<LatLon>,
}

/// `PUT /users/{id}/location`.
#[derive(Serialize, ToSchema)]
pub struct LocationShared {
    pub user_id: i64,
    pub lat: f64,
    pub lon: f64,
}

/// A store in a list; `distance_km` only with `?near=` (null for stores without a
/// location).
#[derive(Serialize, ToSchema)]
pub struct StoreInList {
    #[serde(flatten)]
    pub store: Store,
    pub distance_km: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct StoreList {
    pub stores: Vec<StoreInList>,
}

#[derive(Serialize, ToSchema)]
pub struct DesignHistory {
    pub history: Vec<DesignChange>,
}

/// `PUT /stores/{id}/members/{user_id}`.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    pub store_id: i64,
    pub user_id: i64,
    pub member: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

#[derive(Serialize, ToSchema)]
pub struct MyStoreList {
    pub stores: Vec<crate::db::members::MyStore>,
}

/// A grant's answer, replayed as is on a retry with the same `Idempotency-Key`.
#[derive(Serialize, ToSchema)]
pub struct GrantAnswer {
    pub entry: Entry,
    pub balance: i64,
    pub balance_before_conversion: i64,
    pub coupons_issued: i64,
    pub coupons: Vec<Coupon>,
}

/// One page of the audit trail, newest first; pass `next_before` as `before`.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub rows: Vec<crate::db::audit::AuditRow>,
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Balances {
    pub user_id: i64,
    pub balances: Vec<Balance>,
}

/// One page, newest first; pass `next_before` as `before` for the next (null at
/// the end).
#[derive(Serialize, ToSchema)]
pub struct EntryPage {
    pub entries: Vec<crate::mileage::model::HistoryEntry>,
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionPage {
    pub redemptions: Vec<Redemption>,
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CouponList {
    pub coupons: Vec<Coupon>,
}

#[derive(Serialize, ToSchema)]
pub struct Redeemed {
    pub coupon: Coupon,
    pub redemption: Redemption,
}

#[derive(Serialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<crate::db::shop::Product>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductHistory {
    pub history: Vec<ProductChange>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductStock {
    pub product_id: i64,
    pub stock: Vec<StockItem>,
}

#[derive(Serialize, ToSchema)]
pub struct StoreStock {
    pub store_id: i64,
    pub stock: Vec<StockItem>,
}

/// `GET /users/{id}/watches`: the albums a customer waits for, oldest first.
#[derive(Serialize, ToSchema)]
pub struct WatchList {
    pub watches: Vec<crate::db::shop::watches::Watch>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<Order>,
}

/// One page of a store's orders, newest first; pass `next_before` as `before` for
/// the next (null at the end).
#[derive(Serialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next_before: Option<i64>,
}

/// Units sold per UTC day and album, `from` and `to` inclusive.
#[derive(Serialize, ToSchema)]
pub struct Sales {
    pub store_id: i64,
    pub from: String,
    pub to: String,
    pub sales: Vec<SalesRow>,
}

#[derive(Serialize, ToSchema)]
pub struct Inventory {
    pub store_id: i64,
    pub inventory: Vec<InventoryRow>,
    pub rule: crate::db::shop::sales::StockRule,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct InquiryList {
    pub inquiries: Vec<Inquiry>,
    pub next_before: Option<i64>,
}

/// One event as SSE `data:` and long-poll carry it.
#[derive(Serialize, ToSchema)]
pub struct EventEnvelope {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Null on control events (`stream.open`, `stream.reset`).
    pub channel: Option<String>,
    pub at: String,
    pub data: Value,
}

/// `GET /events/poll`: feed `cursor` back as `?cursor=` on the next call.
#[derive(Serialize, ToSchema)]
pub struct PollAnswer {
    pub events: Vec<EventEnvelope>,
    pub cursor: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<crate::events::connections::ConnectionInfo>,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<crate::jobs::scheduler::JobView>,
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<crate::jobs::scheduler::RunView>,
}

/// Documentation of the push routes, which live in `crate::events` (their handlers
/// are not annotated there to keep that module free of documentation concerns).
#[allow(dead_code)]
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamParams {
    /// The last event id seen; events after it are sent first.
    cursor: Option<String>,
    /// Same as `cursor` (the SSE `Last-Event-ID` header wins over both).
    last_event_id: Option<String>,
    /// Public topics besides the caller's own channels: `products,announcements`.
    #[param(max_length = 64)]
    topics: Option<String>,
    /// Event type prefixes to keep, such as `mileage.,coupon.issued` (at most 32,
    /// each at most 64 characters of `a-z`, `.` and `_`).
    #[param(max_length = 2080)]
    types: Option<String>,
    /// Long-poll only: seconds to wait for an event (0 answers at once).
    timeout: Option<String>,
    /// The token, for clients that cannot set headers (EventSource). Prefer
    /// `ticket`: a URL ends up in logs.
    access_token: Option<String>,
    /// A single-use stream ticket from `POST /events/ticket` (valid 60 s).
    #[param(max_length = 67)]
    ticket: Option<String>,
}

/// Server-sent events: `id:`, `event:` (the type) and `data:` (an [`EventEnvelope`]).
/// Resume with `Last-Event-ID` or `?cursor=`. Without a token, only public topics.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    params(StreamParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "An endless `text/event-stream` of events",
            content_type = "text/event-stream", body = String),
        (status = 429, description = "Too many open connections"),
    )
)]
#[allow(dead_code)]
fn events_stream() {}

/// Long-poll: everything after `cursor` at once, else waits up to `timeout` seconds.
#[utoipa::path(
    get, path = "/api/v1/events/poll", tag = "events",
    params(StreamParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = PollAnswer),
        (status = 429, description = "Too many open connections"),
    )
)]
#[allow(dead_code)]
fn events_poll() {}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// A page that renders this document, with a form to try GET routes.
#[utoipa::path(get, path = "/api/v1/docs", tag = "meta",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../../web/api-docs.html"))
}

/// The document as JSON, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| finish(serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null)))
}

/// Adds what every route of a kind shares (see the module docs), the bearer scheme,
/// and the error shape on every error response.
fn finish(mut doc: Value) -> Value {
    doc["components"]["securitySchemes"]["bearer"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "A session token from POST /auth/login (the session cookie works too)",
    });
    let error = json!({
        "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
    });
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.values_mut().for_each(time_formats);
        // Every `error.code` the API can send, for clients that translate them.
        let codes: Vec<&str> = crate::error::ALL_CODES.iter().map(|(c, _)| *c).collect();
        schemas.insert(
            "ErrorCode".into(),
            json!({
                "type": "string",
                "description": "Every value `error.code` can take (src/error/codes.rs).",
                "enum": codes,
            }),
        );
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            // HEAD answers carry no body, errors included.
            let bodyless = method == "head";
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let params = op.get("parameters").and_then(Value::as_array);
            let has_in = |place: &str| params.is_some_and(|p| p.iter().any(|p| p["in"] == place));
            let mut add: Vec<(&str, &str)> = Vec::new();
            if op
                .get("security")
                .is_some_and(|s| s.to_string().contains("bearer"))
            {
                add.push((
                    "401",
                    "No token, or a token that is not (or no longer) valid",
                ));
            }
            if op.contains_key("requestBody") {
                add.push(("400", "Malformed JSON, or not sent as application/json"));
                add.push(("413", "The body is too large"));
                add.push(("422", "The body's values are not acceptable"));
            }
            if has_in("query") {
                add.push(("400", "A query parameter of the wrong shape"));
                add.push(("422", "A query parameter out of its range"));
            }
            if has_in("path") {
                add.push((
                    "404",
                    "Nothing by that id (or a path segment of the wrong shape)",
                ));
            }
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else {
                continue;
            };
            for (status, description) in add {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({ "description": description }));
            }
            for (status, r) in responses.iter_mut() {
                if r["description"].as_str().is_none_or(str::is_empty) {
                    r["description"] = json!(if status.starts_with('2') {
                        "Success"
                    } else {
                        "An error"
                    });
                }
                let is_error = status.starts_with('4') || status.starts_with('5');
                let no_content = r
                    .get("content")
                    .is_none_or(|c| c.as_object().is_none_or(|c| c.is_empty()));
                if is_error && no_content && !bodyless {
                    r["content"] = error.clone();
                }
            }
        }
    }
    doc
}

/// Marks the time properties of `schema` (and of schemas nested in it) by the
/// naming rule in the module docs.
fn time_formats(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, prop) in props.iter_mut() {
            let is_string = match &prop["type"] {
                Value::String(t) => t == "string",
                Value::Array(ts) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            let format = if name == "at" || name.ends_with("_at") {
                Some("date-time")
            } else if matches!(name.as_str(), "day" | "from" | "to") {
                Some("date")
            } else {
                None
            };
            if let (true, Some(f)) = (is_string, format) {
                prop["format"] = json!(f);
            }
            time_formats(prop);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(parts)) = obj.get_mut(key) {
            parts.iter_mut().for_each(time_formats);
        }
    }
}
