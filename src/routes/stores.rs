//! Store routes (and staff creation, which binds owners to stores): parse,
//! authorise, call [`crate::stores`] or [`crate::accounts`], answer.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{NewStaff, signup};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult};
use crate::mileage::model::Person;
use crate::state::AppState;
use crate::stores::rules::{PolicyFields, parse_time_zone};
use crate::stores::{self, CouponDesign, NewStore, StorePatch, parse_near};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/stores", web::post().to(create))
        .route("/stores", web::get().to(list))
        .route("/stores/{id}", web::get().to(get))
        .route("/stores/{id}", web::patch().to(update))
        .route("/stores/{id}/coupon-design", web::put().to(set_design))
        .route(
            "/stores/{id}/coupon-design/history",
            web::get().to(design_history),
        )
        .route("/staff", web::post().to(create_staff));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateStore {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(max_length = 200)]
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    owner_id: Option<i64>,
    coupon_threshold: Option<i64>,
    /// The day the store joined the service, `YYYY-MM-DD` (UTC), today or earlier;
    /// absent: the moment of registration.
    #[schema(max_length = 10, example = "2024-03-01")]
    joined_at: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/stores", tag = "stores", request_body = CreateStore,
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::db::stores::Store),
        (status = 403, description = "Admins only"),
    ))]
async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateStore>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let b = body.into_inner();
    let new = NewStore::parse(
        &b.name,
        b.address.as_deref(),
        b.lat,
        b.lon,
        b.owner_id,
        b.coupon_threshold,
    )?
    .joined_on(b.joined_at.as_deref(), crate::time::now_millis())?;
    let store = stores::manage::create(&state.db, &new, &state.settings.time_zone).await?;
    tracing::info!(store_id = store.id, by = who.user_id, "store created");
    Ok(HttpResponse::Created().json(store))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `lat,lon`: sort by distance from there, nearest first, and give `distance_km`.
    #[param(max_length = 64)]
    near: Option<String>,
}

/// Every store; with `?near=lat,lon` nearest first, with `distance_km`.
#[utoipa::path(get, path = "/api/v1/stores", tag = "stores", params(ListQuery),
    responses(
        (status = 200, body = crate::routes::openapi::StoreList),
        (status = 422, description = "`near` is not `lat,lon` within range"),
    ))]
async fn list(state: web::Data<AppState>, q: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    let Some(near) = q.near.as_deref() else {
        let stores = stores::manage::list(&state.db).await?;
        return Ok(HttpResponse::Ok().json(json!({ "stores": stores })));
    };
    let here = parse_near(near)?;
    let stores = stores::manage::near(&state.db, here).await?;
    Ok(HttpResponse::Ok().json(json!({ "stores": stores })))
}

/// Admins, or staff of this store.
async fn ensure_store_staff(state: &AppState, who: &Principal, id: i64) -> ApiResult<()> {
    if !state.db.is_staff_of(who, id).await? {
        return Err(ApiError::Forbidden("only admins and this store's owner"));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateStore {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 200)]
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    coupon_threshold: Option<i64>,
    /// Percent of what a purchase paid that it earns in points.
    #[schema(minimum = 0, maximum = 20)]
    earn_percent: Option<i64>,
    /// What one coupon takes off a purchase, in won.
    #[schema(minimum = 0, maximum = 100000000)]
    coupon_value: Option<i64>,
    /// Days earned points stay valid; 0: never expire.
    #[schema(minimum = 0, maximum = 3650)]
    points_valid_days: Option<i64>,
    /// Days an issued coupon stays valid; 0: never expires.
    #[schema(minimum = 0, maximum = 3650)]
    coupon_valid_days: Option<i64>,
    /// IANA time zone name (admin or this store's staff).
    #[schema(max_length = 64)]
    time_zone: Option<String>,
    /// Points an owner may grant here per local day (admins only).
    #[schema(minimum = 0)]
    daily_grant_cap: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/stores/{id}", tag = "stores", params(("id" = i64, Path, description = "store id")),
    request_body = UpdateStore, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::stores::Store),
        (status = 403, description = "Only admins and this store's staff"),
    ))]
async fn update(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<UpdateStore>,
) -> ApiResult<HttpResponse> {
    ensure_store_staff(&state, &who, *id).await?;
    let b = body.into_inner();
    if b.daily_grant_cap.is_some() && !who.is_admin() {
        return Err(ApiError::Forbidden(
            "only admins set a store's daily_grant_cap",
        ));
    }
    let time_zone = b.time_zone.as_deref().map(parse_time_zone).transpose()?;
    let patch = StorePatch::parse(
        b.name.as_deref(),
        b.address.as_deref(),
        b.lat,
        b.lon,
        b.coupon_threshold,
        PolicyFields {
            earn_percent: b.earn_percent,
            coupon_value: b.coupon_value,
            points_valid_days: b.points_valid_days,
            coupon_valid_days: b.coupon_valid_days,
            time_zone,
            daily_grant_cap: b.daily_grant_cap,
        },
    )?;
    let by = Person {
        id: who.user_id,
        name: who.name.clone(),
    };
    let store = stores::manage::update(&state.db, *id, &patch, &by).await?;
    tracing::info!(store_id = store.id, by = who.user_id, "store updated");
    Ok(HttpResponse::Ok().json(store))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DesignBody {
    /// rounded, square, circle, ticket or star.
    #[schema(max_length = 16)]
    shape: String,
    /// `#rrggbb`.
    #[schema(min_length = 7, max_length = 7)]
    color: String,
    #[schema(min_length = 1, max_length = 40)]
    label: String,
}

/// Changes the design of coupons issued from now on; every change is logged.
#[utoipa::path(put, path = "/api/v1/stores/{id}/coupon-design", tag = "stores", params(("id" = i64, Path, description = "store id")),
    request_body = DesignBody, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::stores::DesignChange),
        (status = 403, description = "Only admins and this store's staff"),
    ))]
async fn set_design(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<DesignBody>,
) -> ApiResult<HttpResponse> {
    ensure_store_staff(&state, &who, *id).await?;
    let design = CouponDesign::parse(&body.shape, &body.color, &body.label)?;
    let change = stores::design::set_coupon_design(&state.db, *id, &design, who.user_id).await?;
    Ok(HttpResponse::Ok().json(change))
}

#[utoipa::path(get, path = "/api/v1/stores/{id}/coupon-design/history", tag = "stores",
    params(("id" = i64, Path, description = "store id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::DesignHistory),
        (status = 403, description = "Only admins and this store's staff"),
    ))]
async fn design_history(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    ensure_store_staff(&state, &who, *id).await?;
    let history = stores::design::design_history(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "history": history })))
}

#[utoipa::path(get, path = "/api/v1/stores/{id}", tag = "stores", params(("id" = i64, Path, description = "store id")),
    responses((status = 200, body = crate::db::stores::Store)))]
async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = stores::manage::get(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(store))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateStaff {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(min_length = 3, max_length = 32)]
    login: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    role: Role,
    #[serde(default)]
    #[schema(max_items = 100)]
    store_ids: Vec<i64>,
}

/// An admin creates an owner (bound to stores) or another admin.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = CreateStaff,
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::routes::openapi::UserWithStores),
        (status = 403, description = "Admins only"),
        (status = 409, description = "The login is taken"),
    ))]
async fn create_staff(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateStaff>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let b = body.into_inner();
    let new = NewStaff {
        name: &b.name,
        login: &b.login,
        password: &b.password,
        role: b.role,
        store_ids: &b.store_ids,
    };
    let staff = signup::create_staff(&state.db, new).await?;
    Ok(HttpResponse::Created().json(staff))
}
