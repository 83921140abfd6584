//! Account routes: parse, authorise, call [`crate::accounts`], answer. The one
//! mapping of [`AccountError`] to HTTP is here too.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{ProfileChange, profile, signup};
use crate::auth::{self, Principal, Role};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(sign_up))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::head().to(exists))
        .route("/users/{id}", web::patch().to(update))
        .route("/users/{id}/location", web::put().to(share_location));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SignUp {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(min_length = 4, max_length = 32)]
    phone: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

/// Open sign-up of a customer; answers with the member number to log in with.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = SignUp,
    responses((status = 201, description = "Signed up; log in with `member_no`",
        body = crate::db::users::User)))]
async fn sign_up(state: web::Data<AppState>, body: web::Json<SignUp>) -> ApiResult<HttpResponse> {
    let user = signup::sign_up(&state.db, &body.name, &body.phone, &body.password).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(user))
}

/// The user themself, an admin, or an owner of a store the user belongs to.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::UserDetail),
        (status = 403, description = "Not yourself, an admin, or an owner of the user's store"),
    ))]
async fn get(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = *id;
    let allowed = who.user_id == id
        || who.is_admin()
        || (who.role == Role::Owner
            && crate::db::members::serves_member(&state.db, who.user_id, id).await?);
    if !allowed {
        return Err(ApiError::Forbidden(
            "you see your own account; staff see their stores' members",
        ));
    }
    let with_location = who.user_id == id || who.is_admin();
    let user = profile::profile(&state.db, id, with_location).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Whether a user id exists (200 or 404, no body): staff check before enrolling.
#[utoipa::path(head, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user exists"),
        (status = 403, description = "Only staff look up other users"),
    ))]
async fn exists(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if who.user_id != *id && !who.role.is_staff() {
        return Err(ApiError::Forbidden("only staff look up other users"));
    }
    Ok(if profile::exists(&state.db, *id).await? {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::NotFound().finish()
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(min_length = 4, max_length = 32)]
    phone: Option<String>,
    #[schema(min_length = 8, max_length = 128)]
    password: Option<String>,
}

/// The user themself or an admin changes name, phone or password. A new password
/// ends the user's other sessions (the caller's own stays).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "user id")),
    request_body = Patch, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::users::User),
        (status = 403, description = "Only yourself or an admin"),
    ))]
async fn update(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<Patch>,
) -> ApiResult<HttpResponse> {
    let id = *id;
    if who.user_id != id && !who.is_admin() {
        return Err(ApiError::Forbidden("you change only your own account"));
    }
    let change = ProfileChange {
        name: body.name.as_deref(),
        phone: body.phone.as_deref(),
        password: body.password.as_deref(),
    };
    // Changing your own password keeps the session you changed it from.
    let keep = if who.user_id == id {
        auth::token_from_request(&req)
    } else {
        None
    };
    let user = profile::update_profile(&state.db, id, change, keep.as_deref()).await?;
    Ok(HttpResponse::Ok().json(user))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Location {
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    lon: f64,
}

/// A user shares where they are (for "stores near me"); only for themself.
#[utoipa::path(put, path = "/api/v1/users/{id}/location", tag = "users", params(("id" = i64, Path, description = "user id")),
    request_body = Location, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::LocationShared),
        (status = 403, description = "Only your own location"),
    ))]
async fn share_location(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<Location>,
) -> ApiResult<HttpResponse> {
    if who.user_id != *id {
        return Err(ApiError::Forbidden("you share only your own location"));
    }
    let at = profile::share_location(&state.db, *id, body.lat, body.lon).await?;
    Ok(HttpResponse::Ok().json(json!({ "user_id": *id, "lat": at.lat, "lon": at.lon })))
}
