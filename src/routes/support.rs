//! Customer center routes: parse, authorise, call [`crate::support`], answer.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{MaybePrincipal, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::support::{self, NewInquiry, conversations, inquiries};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/support/conversations", web::post().to(open))
        .route("/support/conversations", web::get().to(list))
        .route("/support/conversations/{id}", web::get().to(thread))
        .route(
            "/support/conversations/{id}/messages",
            web::post().to(write),
        )
        .route("/support/conversations/{id}/close", web::post().to(close))
        .route("/inquiries", web::post().to(inquire))
        .route("/inquiries", web::get().to(list_inquiries))
        .route("/inquiries/{id}", web::patch().to(set_inquiry_status));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
    store_id: Option<i64>,
}

/// A customer opens a conversation with one of their stores (`store_id`; when
/// absent, their only store), or with the admins.
#[utoipa::path(post, path = "/api/v1/support/conversations", tag = "support", request_body = OpenBody, security(("bearer" = [])),
    responses(
        (status = 201, body = crate::support::conversations::Opened),
        (status = 403, description = "Only customers open conversations"),
        (status = 422, description = "`not_a_member` of the store named, `unknown_store`, `invalid_text`"),
        (status = 429, description = "Writing too fast; see Retry-After"),
    ))]
async fn open(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<OpenBody>,
) -> ApiResult<HttpResponse> {
    let opened = conversations::open(
        &state.db,
        &state.support_limiter,
        &who,
        body.store_id,
        &body.text,
    )
    .await?;
    Ok(HttpResponse::Created().json(opened))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `open` or `closed`.
    #[param(max_length = 16)]
    status: Option<String>,
    /// Only this store's conversations.
    store_id: Option<i64>,
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/support/conversations", tag = "support", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = crate::routes::openapi::ConversationPage)))]
async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let status = support::parse_status(q.status.as_deref())?;
    let limit = support::page_limit(q.limit)?;
    let list = conversations::list(&state.db, &who, status, q.store_id, q.before, limit).await?;
    let next_before = (list.len() as i64 == limit)
        .then(|| list.last().map(|c| c.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "conversations": list, "next_before": next_before })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/support/conversations/{id}", tag = "support",
    params(("id" = i64, Path, description = "conversation id"), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = crate::support::conversations::Thread)))]
async fn thread(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = support::page_limit(q.limit)?;
    let thread = conversations::thread(&state.db, &who, *id, q.before, limit).await?;
    Ok(HttpResponse::Ok().json(thread))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TextBody {
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
}

#[utoipa::path(post, path = "/api/v1/support/conversations/{id}/messages", tag = "support",
    params(("id" = i64, Path, description = "conversation id")), request_body = TextBody, security(("bearer" = [])),
    responses(
        (status = 201, body = crate::db::support::Message),
        (status = 409, description = "The conversation is closed"),
        (status = 429, description = "Writing too fast; see Retry-After"),
    ))]
async fn write(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<TextBody>,
) -> ApiResult<HttpResponse> {
    let message =
        conversations::write(&state.db, &state.support_limiter, &who, *id, &body.text).await?;
    Ok(HttpResponse::Created().json(message))
}

#[utoipa::path(post, path = "/api/v1/support/conversations/{id}/close", tag = "support",
    params(("id" = i64, Path, description = "conversation id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::support::Conversation),
        (status = 409, description = "Already closed"),
    ))]
async fn close(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let conversation = conversations::close(&state.db, &who, *id).await?;
    Ok(HttpResponse::Ok().json(conversation))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InquiryBody {
    /// One line.
    #[schema(min_length = 1, max_length = 200)]
    subject: String,
    #[schema(min_length = 1, max_length = 10000)]
    message: String,
    /// An e-mail address.
    #[schema(max_length = 254)]
    reply_to: String,
}

/// Open to anyone; a token, if sent, names the sender. Limited per address.
#[utoipa::path(post, path = "/api/v1/inquiries", tag = "inquiries", request_body = InquiryBody,
    security((), ("bearer" = [])),
    responses(
        (status = 201, body = crate::support::inquiries::Received),
        (status = 429, description = "Too many inquiries from this address; see Retry-After"),
    ))]
async fn inquire(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: MaybePrincipal,
    body: web::Json<InquiryBody>,
) -> ApiResult<HttpResponse> {
    let inquiry = NewInquiry::parse(&body.subject, &body.message, &body.reply_to)?;
    let s = &state.settings;
    // Mail only when both ends are known; otherwise the event alone tells the admins.
    let admin_email = s.smtp_url.as_ref().and(s.admin_email.as_deref());
    let sender = inquiries::Sender {
        limiter: &state.inquiry_limiter,
        address: crate::net::client_ip(&req),
    };
    let received = inquiries::submit(
        &state.db,
        sender,
        &state.mail_wake,
        admin_email,
        who.0.as_ref(),
        &inquiry,
    )
    .await?;
    Ok(HttpResponse::Created().json(received))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct InquiryQuery {
    /// `new`, `in_progress` or `closed`.
    #[param(max_length = 16)]
    status: Option<String>,
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Admins read inquiries with their status and the state of their mail.
#[utoipa::path(get, path = "/api/v1/inquiries", tag = "inquiries", params(InquiryQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::InquiryList),
        (status = 403, description = "Admins only"),
        (status = 422, description = "`invalid_status`, `invalid_limit`"),
    ))]
async fn list_inquiries(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<InquiryQuery>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let status = q
        .status
        .as_deref()
        .map(inquiries::InquiryStatus::parse)
        .transpose()?;
    let limit = support::page_limit(q.limit)?;
    let list = inquiries::list(&state.db, status, q.before, limit).await?;
    let next_before = (list.len() as i64 == limit)
        .then(|| list.last().map(|i| i.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "inquiries": list, "next_before": next_before })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InquiryStatusBody {
    /// `new`, `in_progress` or `closed`.
    #[schema(max_length = 16)]
    status: String,
}

/// An admin moves an inquiry along: `new`, `in_progress`, `closed`.
#[utoipa::path(patch, path = "/api/v1/inquiries/{id}", tag = "inquiries",
    params(("id" = i64, Path, description = "inquiry id")), request_body = InquiryStatusBody, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::support::Inquiry),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such inquiry"),
        (status = 422, description = "`invalid_status`"),
    ))]
async fn set_inquiry_status(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<InquiryStatusBody>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let status = inquiries::InquiryStatus::parse(&body.status)?;
    let inquiry = inquiries::set_status(&state.db, &who, *id, status).await?;
    Ok(HttpResponse::Ok().json(inquiry))
}
