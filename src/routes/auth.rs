//! Login, logout and "who am I": parse, call [`crate::accounts`], set or clear the
//! session cookie.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{profile, sessions};
use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::error::ApiResult;
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
    let address = crate::net::client_ip(&req)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let sessions::LoggedIn { token, user } = sessions::login(
        &state.db,
        &state.login_throttle,
        &body.login,
        body.password,
        &address,
    )
    .await?;
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
        sessions::logout(&state.db, &token).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller, with the stores they work at",
        body = crate::routes::openapi::UserWithStores)))]
async fn me(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(profile::me(&state.db, &who).await?))
}
