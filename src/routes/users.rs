use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{AccountError, Name, Password, Phone};
use crate::auth::{self, Principal, Role, password};
use crate::db::users::NewUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stores::parse_location;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(sign_up))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::head().to(exists))
        .route("/users/{id}", web::patch().to(update))
        .route("/users/{id}/location", web::put().to(share_location));
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        ApiError::invalid("invalid_account", e.to_string())
    }
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
    let name = Name::parse(&body.name)?;
    let phone = Phone::parse(&body.phone)?;
    let pw = Password::parse(&body.password)?;
    let hash = password::hash(pw.into_inner()).await?;
    let user = state
        .db
        .create_user(
            &NewUser {
                role: Role::Customer,
                login: None,
                name: name.as_str(),
                phone: Some(phone.as_str()),
                password_hash: Some(&hash),
            },
            &[],
        )
        .await?;
    tracing::info!(user_id = user.id, member_no = ?user.member_no, "customer signed up");
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
    let user = state.db.user(id).await?.ok_or(ApiError::NotFound("user"))?;
    let mut v = serde_json::to_value(&user).map_err(anyhow::Error::from)?;
    if who.user_id == id || who.is_admin() {
        v["location"] = match state.db.location(id).await? {
            Some((lat, lon)) => json!({ "lat": lat, "lon": lon }),
            None => json!(null),
        };
    }
    Ok(HttpResponse::Ok().json(v))
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
    Ok(match state.db.user(*id).await? {
        Some(_) => HttpResponse::Ok().finish(),
        None => HttpResponse::NotFound().finish(),
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
    let b = body.into_inner();
    if b.name.is_none() && b.phone.is_none() && b.password.is_none() {
        return Err(ApiError::invalid(
            "invalid_account",
            "name at least one of name, phone, password",
        ));
    }
    let name = b.name.as_deref().map(Name::parse).transpose()?;
    let phone = b.phone.as_deref().map(Phone::parse).transpose()?;
    let pw = b.password.as_deref().map(Password::parse).transpose()?;
    let hash = match pw {
        Some(p) => Some(password::hash(p.into_inner()).await?),
        None => None,
    };
    let keep = if who.user_id == id {
        auth::token_from_request(&req)
    } else {
        None
    };
    let user = state
        .db
        .update_user(
            id,
            name.as_ref().map(Name::as_str),
            phone.as_ref().map(Phone::as_str),
            hash.as_deref(),
            keep.as_deref(),
        )
        .await?
        .ok_or(ApiError::NotFound("user"))?;
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
    let (lat, lon) = parse_location(Some(body.lat), Some(body.lon))
        .ok()
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid(
                "invalid_location",
                "lat must be within -90..90 and lon within -180..180",
            )
        })?;
    if !state.db.set_location(*id, lat, lon).await? {
        return Err(ApiError::NotFound("user"));
    }
    Ok(HttpResponse::Ok().json(json!({ "user_id": *id, "lat": lat, "lon": lon })))
}
