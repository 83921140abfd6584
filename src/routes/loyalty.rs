//! Memberships, the mileage ledger, coupons and redemptions (DESIGN.md §3-4).
//! Handlers parse, authorise, call the flows of [`crate::mileage`] (or its storage
//! reads) and map the result to HTTP.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::db::{Db, coupons, history, ledger, members as member_rows};
use crate::error::{ApiError, ApiResult};
use crate::mileage::grants::Grant;
use crate::mileage::model::{CouponStatus, Page};
use crate::mileage::{self, MileageError, Reason, ReasonCode};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The grant first: it is the route a busy shop calls most, and actix
    // matches resources in order (see `routes::configure`).
    cfg.route(
        "/stores/{id}/members/{user_id}/mileage",
        web::post().to(grant),
    )
    .route("/stores/{id}/members", web::get().to(members))
    .route("/stores/{id}/customers", web::get().to(find_customer))
    .route("/users/{id}/stores", web::get().to(my_stores))
    .route("/stores/{id}/members/{user_id}", web::put().to(join))
    .route("/stores/{id}/members/{user_id}", web::delete().to(leave))
    .route("/stores/{id}/redemptions", web::get().to(redemptions))
    .route("/users/{id}/mileage", web::get().to(balances))
    .route("/users/{id}/mileage/entries", web::get().to(entries))
    .route("/users/{id}/coupons", web::get().to(coupons))
    .route("/coupons/{id}/redeem", web::post().to(redeem));
}

/// Staff of the store (admins everywhere), and the store exists.
async fn ensure_staff(db: &Db, who: &Principal, store_id: i64) -> ApiResult<()> {
    if !db.is_staff_of(who, store_id).await? {
        return Err(MileageError::NotStaff.into());
    }
    if !db.store_exists(store_id).await? {
        return Err(MileageError::NoSuchStore.into());
    }
    Ok(())
}

/// The user themself or an admin.
fn ensure_self_or_admin(who: &Principal, user_id: i64) -> ApiResult<()> {
    if who.user_id == user_id || who.is_admin() {
        Ok(())
    } else {
        Err(MileageError::NotYours.into())
    }
}

/// The customer themself, or that store's staff, may enrol or remove a member.
async fn ensure_member_manager(
    db: &Db,
    who: &Principal,
    store_id: i64,
    user_id: i64,
) -> ApiResult<()> {
    if who.user_id == user_id || db.is_staff_of(who, store_id).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "a customer joins or leaves for themself; staff enrol only at their own stores",
        ))
    }
}

/// The customer themself, or staff of the store, enrol a member (idempotent).
#[utoipa::path(put, path = "/api/v1/stores/{id}/members/{user_id}", tag = "members", params(("id" = i64, Path, description = "store id"), ("user_id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Already a member", body = crate::routes::openapi::Membership),
        (status = 201, description = "Joined", body = crate::routes::openapi::Membership),
        (status = 403, description = "Not yourself, nor staff of this store"),
        (status = 422, description = "The user is not a customer"),
    ))]
async fn join(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (store_id, user_id) = path.into_inner();
    ensure_member_manager(&state.db, &who, store_id, user_id).await?;
    let added = mileage::members::join(&state.db, store_id, user_id).await?;
    let body = json!({ "store_id": store_id, "user_id": user_id, "member": true });
    Ok(if added {
        tracing::info!(store_id, user_id, by = who.user_id, "member joined");
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

#[utoipa::path(delete, path = "/api/v1/stores/{id}/members/{user_id}", tag = "members", params(("id" = i64, Path, description = "store id"), ("user_id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Not a member (any more)"),
        (status = 403, description = "Not yourself, nor staff of this store"),
    ))]
async fn leave(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (store_id, user_id) = path.into_inner();
    ensure_member_manager(&state.db, &who, store_id, user_id).await?;
    mileage::members::leave(&state.db, store_id, user_id).await?;
    tracing::info!(store_id, user_id, by = who.user_id, "member left");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MemberQuery {
    /// Member number prefix or part of the name (case-insensitive).
    #[param(max_length = 100)]
    q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/stores/{id}/members", tag = "members", params(("id" = i64, Path, description = "store id"), MemberQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::MemberList),
        (status = 403, description = "Staff of this store only"),
    ))]
async fn members(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<MemberQuery>,
) -> ApiResult<HttpResponse> {
    ensure_staff(&state.db, &who, *id).await?;
    let q =
        q.q.as_deref()
            .map(|s| s.chars().take(100).collect::<String>());
    let list = member_rows::of_store(&state.db, *id, q.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({ "members": list })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CustomerQuery {
    /// The exact member number the customer gives at the counter.
    #[param(max_length = 32)]
    member_no: String,
}

/// Staff find a customer by exact member number, to enrol them. Exact only, so
/// staff cannot browse every customer of the service.
#[utoipa::path(get, path = "/api/v1/stores/{id}/customers", tag = "members", params(("id" = i64, Path, description = "store id"), CustomerQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::members::FoundCustomer),
        (status = 403, description = "Staff of this store only"),
        (status = 404, description = "No customer has this member number"),
    ))]
async fn find_customer(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<CustomerQuery>,
) -> ApiResult<HttpResponse> {
    ensure_staff(&state.db, &who, *id).await?;
    match member_rows::customer_by_member_no(&state.db, *id, &q.member_no).await? {
        Some(found) => Ok(HttpResponse::Ok().json(found)),
        None => Err(ApiError::NotFound("customer")),
    }
}

/// The stores a customer belongs to, with their balance at each.
#[utoipa::path(get, path = "/api/v1/users/{id}/stores", tag = "members", params(("id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::MyStoreList),
        (status = 403, description = "Only yourself or an admin"),
    ))]
async fn my_stores(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    ensure_self_or_admin(&who, *id)?;
    let stores = member_rows::my_stores(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "stores": stores })))
}

/// `points` is taken as raw JSON so that `1.5` or `"10"` get a clear 422 from
/// [`Points::from_json`] rather than serde's generic message.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    #[serde(default)]
    #[schema(value_type = i64, minimum = 1, maximum = 100000)]
    points: Value,
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
    /// Required: `offline_purchase`, `promotion`, `compensation` or `correction`
    /// (only a correction may have negative `points`).
    #[serde(default)]
    #[schema(value_type = String, max_length = 32)]
    reason_code: Option<String>,
}

/// Grants mileage; crossing the store's threshold converts points to coupons. A
/// retry with the same `Idempotency-Key` answers the saved result.
#[utoipa::path(post, path = "/api/v1/stores/{id}/members/{user_id}/mileage", tag = "mileage",
    params(("id" = i64, Path, description = "store id"), ("user_id" = i64, Path, description = "user id"), ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters", min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = GrantBody, security(("bearer" = [])),
    responses(
        (status = 201, body = crate::routes::openapi::GrantAnswer),
        (status = 400, description = "Missing or malformed Idempotency-Key"),
        (status = 403, description = "Staff of this store only; or `grant_cap_exceeded` (with `left`)"),
        (status = 409, description = "The key was used for a different request"),
        (status = 422, description = "`invalid_reason_code`, `invalid_points`, `correction_below_zero`"),
    ))]
async fn grant(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: web::Json<GrantBody>,
) -> ApiResult<HttpResponse> {
    let (store_id, user_id) = path.into_inner();
    ensure_staff(&state.db, &who, store_id).await?;
    let key = super::idempotency_key(&req)?;
    let code = ReasonCode::parse(body.reason_code.as_deref().unwrap_or(""))?;
    let points = mileage::grant_points(&body.points, code)?;
    let reason = Reason::parse(&body.reason)?;
    let grant = Grant {
        store_id,
        user_id,
        points,
        reason: &reason,
        code,
        by: &who,
        key: &key,
        now: state.settings.clock.now(),
    };
    let answer = mileage::grants::grant(&state.db, &grant).await?;
    if !answer.replayed {
        state.metrics.grants.inc();
    }
    Ok(HttpResponse::Created()
        .insert_header(("Idempotent-Replayed", answer.replayed.to_string()))
        .json(answer.answer))
}

#[utoipa::path(post, path = "/api/v1/coupons/{id}/redeem", tag = "coupons",
    params(("id" = i64, Path, description = "coupon id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::Redeemed),
        (status = 403, description = "Staff of the coupon's store only"),
        (status = 409, description = "Already redeemed"),
    ))]
async fn redeem(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if !who.role.is_staff() {
        return Err(ApiError::Forbidden(
            "only staff of the coupon's store redeem it",
        ));
    }
    let (coupon, redemption) = mileage::coupons::redeem(
        &state.db,
        *id,
        &who,
        state.settings.clock.now().timestamp_millis(),
    )
    .await?;
    tracing::info!(
        coupon_id = coupon.id,
        store_id = coupon.store_id,
        by = who.user_id,
        "coupon redeemed"
    );
    Ok(HttpResponse::Ok().json(json!({ "coupon": coupon, "redemption": redemption })))
}

/// `?before=ID&limit=N` (newest first; default 50, at most 200).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    store_id: Option<i64>,
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

impl PageQuery {
    fn page(&self) -> ApiResult<Page> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::invalid("invalid_limit", "limit must be 1 to 200"));
        }
        Ok(Page {
            before: self.before,
            limit,
        })
    }
}

/// The id to pass as `before` for the next page, if this page was full.
fn next_before(ids: impl Iterator<Item = i64>, len: usize, page: Page) -> Option<i64> {
    let last = ids.last();
    (i64::try_from(len).ok() == Some(page.limit))
        .then_some(last)
        .flatten()
}

#[utoipa::path(get, path = "/api/v1/stores/{id}/redemptions", tag = "coupons",
    params(("id" = i64, Path, description = "store id"), PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::RedemptionPage),
        (status = 403, description = "Staff of this store only"),
        (status = 422, description = "limit out of range"),
    ))]
async fn redemptions(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    ensure_staff(&state.db, &who, *id).await?;
    let page = q.page()?;
    let list = coupons::redemptions(&state.db, *id, page).await?;
    let next = next_before(list.iter().map(|r| r.id), list.len(), page);
    Ok(HttpResponse::Ok().json(json!({ "redemptions": list, "next_before": next })))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/mileage", tag = "mileage", params(("id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::Balances),
        (status = 403, description = "Only yourself or an admin"),
    ))]
async fn balances(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    ensure_self_or_admin(&who, *id)?;
    Ok(HttpResponse::Ok()
        .json(json!({ "user_id": *id, "balances": ledger::balances(&state.db, *id).await? })))
}

/// A member's mileage history, newest first, each entry explained (store name,
/// who granted it, the conversion a credit caused and its coupons, the lot an
/// expiry took). The customer themself and admins see every store's; staff see
/// their store's, and must name it with `store_id`.
#[utoipa::path(get, path = "/api/v1/users/{id}/mileage/entries", tag = "mileage",
    params(("id" = i64, Path, description = "user id"), PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::EntryPage),
        (status = 403, description = "Only yourself, an admin, or staff of `store_id`"),
        (status = 422, description = "limit out of range"),
    ))]
async fn entries(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let staff_of_store = match q.store_id {
        Some(store) if who.role.is_staff() => state.db.is_staff_of(&who, store).await?,
        _ => false,
    };
    if !staff_of_store {
        ensure_self_or_admin(&who, *id)?;
    }
    let page = q.page()?;
    let list = history::history(&state.db, *id, q.store_id, page).await?;
    let next = next_before(list.iter().map(|e| e.entry.id), list.len(), page);
    Ok(HttpResponse::Ok().json(json!({ "entries": list, "next_before": next })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CouponQuery {
    /// `active`, `redeemed`, `revoked` or `expired`.
    #[param(max_length = 16)]
    status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users/{id}/coupons", tag = "coupons",
    params(("id" = i64, Path, description = "user id"), CouponQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::CouponList),
        (status = 403, description = "Only yourself or an admin"),
        (status = 422, description = "status is not active, redeemed, revoked or expired"),
    ))]
async fn coupons(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<CouponQuery>,
) -> ApiResult<HttpResponse> {
    ensure_self_or_admin(&who, *id)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(CouponStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "invalid_status",
                "status must be active, redeemed, revoked or expired",
            )
        })?),
    };
    let list = mileage::coupons::of_user(&state.db, *id, status).await?;
    Ok(HttpResponse::Ok().json(json!({ "coupons": list })))
}
