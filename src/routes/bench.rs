//! Endpoints for the load generator only, mounted when the server runs with
//! `--bench-endpoints`: creating thousands of users one argon2 hash at a time would
//! measure the password hasher, not the push server.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, Principal, Role, SESSION_TTL_MILLIS};
use crate::db::users::NewUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/bench/users", web::post().to(users));
}

#[derive(Deserialize)]
struct Body {
    count: usize,
}

async fn users(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<Body>,
) -> ApiResult<HttpResponse> {
    if !state.settings.bench_endpoints {
        return Err(ApiError::NotFound("route"));
    }
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    if body.count == 0 || body.count > 100_000 {
        return Err(ApiError::invalid(
            "invalid_count",
            "count must be 1 to 100000",
        ));
    }
    let mut out = Vec::with_capacity(body.count);
    for i in 0..body.count {
        let name = format!("bench-{i}");
        let user = state
            .db
            .create_user(
                &NewUser {
                    role: Role::Customer,
                    login: None,
                    name: &name,
                    phone: None,
                    // No password: these users can only use the token returned here.
                    password_hash: None,
                },
                &[],
            )
            .await?;
        let token = auth::new_token();
        state
            .db
            .create_session(&token, user.id, SESSION_TTL_MILLIS)
            .await?;
        out.push(json!({ "id": user.id, "member_no": user.member_no, "token": token }));
    }
    Ok(HttpResponse::Created().json(json!({ "users": out })))
}
