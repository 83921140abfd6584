//! `POST /events/ticket`: a stream ticket, so that a browser or a script never puts
//! its session token in an event URL (URLs end up in proxies' logs and browser
//! history). The streams themselves are in [`crate::transport`].

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::accounts::sessions;
use crate::auth::{self, Principal, stream};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events/ticket", web::post().to(ticket));
}

/// `POST /events/ticket`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketAnswer {
    /// Pass as `?ticket=` to `GET /events` or `GET /events/poll`, once.
    pub ticket: String,
    pub expires_at: String,
    /// Seconds the ticket stays valid (60).
    pub expires_in: i64,
}

/// A single-use ticket, valid for 60 s, that opens one stream or one poll as the
/// caller's session (and ends with it).
#[utoipa::path(post, path = "/api/v1/events/ticket", tag = "events",
    security(("bearer" = [])),
    responses((status = 201, body = TicketAnswer)))]
async fn ticket(
    state: web::Data<AppState>,
    req: HttpRequest,
    _who: Principal,
) -> ApiResult<HttpResponse> {
    // The extractor checked the token; a ticket is not one (it cannot make another).
    let token = auth::token_from_request(&req)
        .filter(|t| !auth::is_ticket(t))
        .ok_or(ApiError::Unauthorized("authentication required"))?;
    let now = stream::now(&state);
    let (ticket, expires_at) =
        sessions::make_ticket(&state.db, &auth::token_hash(&token), now).await?;
    Ok(HttpResponse::Created().json(TicketAnswer {
        ticket,
        expires_at: crate::time::rfc3339(expires_at),
        expires_in: auth::TICKET_TTL_MILLIS / 1000,
    }))
}
