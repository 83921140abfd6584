use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::sessions;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/connections", web::get().to(connections))
        .route(
            "/admin/users/{id}/disconnect",
            web::post().to(disconnect_user),
        );
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConnectionsQuery {
    /// Only this user's connections.
    user_id: Option<i64>,
}

/// Who is connected to this instance now: user, role, transport, since, remote
/// address; one user's connections with `?user_id=`.
#[utoipa::path(get, path = "/api/v1/admin/connections", tag = "admin",
    security(("bearer" = [])),
    params(ConnectionsQuery),
    responses(
        (status = 200, body = crate::routes::openapi::ConnectionList),
        (status = 403, description = "Admins only"),
    ))]
async fn connections(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<ConnectionsQuery>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let list = state.connections.list(query.user_id);
    Ok(HttpResponse::Ok().json(json!({ "connections": list, "count": list.len() })))
}

/// `POST /admin/users/{id}/disconnect`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Disconnected {
    pub user_id: i64,
    /// Sessions ended (the user must log in again everywhere).
    pub sessions_ended: u64,
}

/// Signs a user out everywhere: every session ends, and with them, on every
/// instance, the user's open streams and waiting polls (within a second); a
/// reconnect with an old token or ticket is refused.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disconnect", tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user")),
    responses(
        (status = 200, body = Disconnected),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such user"),
    ))]
async fn disconnect_user(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let user_id = path.into_inner();
    if state.db.user(user_id).await?.is_none() {
        return Err(ApiError::NotFound("user"));
    }
    let sessions_ended = sessions::end_all(&state.db, user_id).await?;
    tracing::info!(
        admin = who.user_id,
        user_id,
        sessions_ended,
        "user disconnected by an admin"
    );
    Ok(HttpResponse::Ok().json(Disconnected {
        user_id,
        sessions_ended,
    }))
}
