use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{MaybePrincipal, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::support::{self, NewInquiry, SupportError, conversations, inquiries};

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
        .route("/inquiries", web::get().to(list_inquiries));
}

impl From<SupportError> for ApiError {
    fn from(e: SupportError) -> Self {
        match e {
            SupportError::Text => ApiError::invalid("invalid_text", e.to_string()),
            SupportError::Subject | SupportError::InquiryMessage | SupportError::ReplyTo => {
                ApiError::invalid("invalid_inquiry", e.to_string())
            }
            SupportError::Status | SupportError::Limit => {
                ApiError::bad_request("bad_query", e.to_string())
            }
            SupportError::NotACustomer => ApiError::Forbidden("only customers open conversations"),
            SupportError::NoSuchStore => ApiError::invalid("unknown_store", "no such store"),
            SupportError::NotFound => ApiError::NotFound("conversation"),
            SupportError::Closed => {
                ApiError::conflict("conversation_closed", "the conversation is closed")
            }
            SupportError::TooFast(secs) => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: Some(secs),
            },
            SupportError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    text: String,
    store_id: Option<i64>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let status = support::parse_status(q.status.as_deref())?;
    let limit = support::page_limit(q.limit)?;
    let list = conversations::list(&state.db, &who, status, q.before, limit).await?;
    let next_before = (list.len() as i64 == limit)
        .then(|| list.last().map(|c| c.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "conversations": list, "next_before": next_before })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    text: String,
}

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

async fn close(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let conversation = conversations::close(&state.db, &who, *id).await?;
    Ok(HttpResponse::Ok().json(conversation))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InquiryBody {
    subject: String,
    message: String,
    reply_to: String,
}

/// Open to anyone; a token, if sent, names the sender.
async fn inquire(
    state: web::Data<AppState>,
    who: MaybePrincipal,
    body: web::Json<InquiryBody>,
) -> ApiResult<HttpResponse> {
    let inquiry = NewInquiry::parse(&body.subject, &body.message, &body.reply_to)?;
    let s = &state.settings;
    // Mail only when both ends are known; otherwise the event alone tells the admins.
    let admin_email = s.smtp_url.as_ref().and(s.admin_email.as_deref());
    let received = inquiries::submit(
        &state.db,
        &state.mail_wake,
        admin_email,
        who.0.as_ref(),
        &inquiry,
    )
    .await?;
    Ok(HttpResponse::Created().json(received))
}

/// Admins read inquiries with the state of their mail.
async fn list_inquiries(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let limit = support::page_limit(q.limit)?;
    let list = state.db.inquiries(q.before, limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "inquiries": list })))
}
