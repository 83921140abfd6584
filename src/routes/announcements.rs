use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::announcements::{self};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/announcements", web::post().to(create));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Body {
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
    user_id: Option<i64>,
    store_id: Option<i64>,
    #[serde(default)]
    all: bool,
}

/// Exactly one target: `user_id` (admins), `store_id` (admins; owners for their
/// stores) or `all: true` (admins; the public `announcements` topic).
#[utoipa::path(post, path = "/api/v1/announcements", tag = "announcements", request_body = Body,
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::announcements::Sent),
        (status = 403, description = "Not allowed to announce to that target"),
        (status = 404, description = "No such user or store"),
    ))]
async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<Body>,
) -> ApiResult<HttpResponse> {
    let target = announcements::target(body.user_id, body.store_id, body.all)?;
    let sent = announcements::announce(&state.db, &who, target, &body.text).await?;
    Ok(HttpResponse::Created().json(sent))
}
