use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/connections", web::get().to(connections));
}

/// Who is connected now: user, role, transport, since, remote address.
#[utoipa::path(get, path = "/api/v1/admin/connections", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::ConnectionList),
        (status = 403, description = "Admins only"),
    ))]
async fn connections(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let list = state.connections.list();
    Ok(HttpResponse::Ok().json(json!({ "connections": list, "count": list.len() })))
}
