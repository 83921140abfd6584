use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, Principal, SESSION_COOKIE, SESSION_TTL_MILLIS, password};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/logout", web::post().to(logout))
        .route("/me", web::get().to(me));
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginBody {
    /// A customer's member number or a staff login.
    #[schema(max_length = 64)]
    login: String,
    #[schema(max_length = 512)]
    password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in; the token is also set as a cookie",
            body = crate::routes::openapi::LoginAnswer),
        (status = 401, description = "Wrong login or password"),
        (status = 429, description = "Too many failed logins; see Retry-After"),
    ))]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let now = std::time::Instant::now();
    if let Err(wait) = state.login_throttle.check(&body.login, &address, now) {
        return Err(ApiError::TooManyRequests {
            message: "too many failed logins; try again later".into(),
            retry_after: Some(wait),
        });
    }
    if body.login.len() > 64 || body.password.len() > 512 {
        state.login_throttle.failed(&body.login, &address, now);
        return Err(ApiError::Unauthorized("wrong login or password"));
    }
    let found = state.db.user_for_login(body.login.trim()).await?;
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    if !password::verify(body.password, hash).await? {
        state.login_throttle.failed(&body.login, &address, now);
        tracing::info!(login = %body.login, "login refused");
        return Err(ApiError::Unauthorized("wrong login or password"));
    }
    let user = user.ok_or(ApiError::Unauthorized("wrong login or password"))?;
    state.login_throttle.succeeded(&body.login);
    let token = auth::new_token();
    state
        .db
        .create_session(&token, user.id, SESSION_TTL_MILLIS)
        .await?;
    tracing::info!(user_id = user.id, role = %user.role, "logged in");
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(30))
        .finish();
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .json(json!({ "token": token, "user": user })))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "The session is ended and the cookie removed")))]
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    _who: Principal,
) -> ApiResult<HttpResponse> {
    if let Some(token) = auth::token_from_request(&req) {
        state.db.delete_session(&token).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller, with the stores they work at",
        body = crate::routes::openapi::UserWithStores)))]
async fn me(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    let user = state
        .db
        .user(who.user_id)
        .await?
        .ok_or(ApiError::Unauthorized("user no longer exists"))?;
    let store_ids = if who.role.is_staff() {
        state.db.staff_store_ids(who.user_id).await?
    } else {
        Vec::new()
    };
    let mut v = serde_json::to_value(&user).map_err(anyhow::Error::from)?;
    v["store_ids"] = json!(store_ids);
    Ok(HttpResponse::Ok().json(v))
}
