//! The record shop over HTTP: products, stock, orders, sales, inventory. Each
//! handler parses, authorises, calls a flow of [`crate::shop`] and maps its answer
//! (or its [`ShopError`]) to a status and body.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::shop::orders::OrderRequest;
use crate::shop::returns::{self, ReturnReason, ReturnRequest};
use crate::shop::{
    self, Delta, NewProduct, Period, ProductUpdate, Quantity, StockLevel, catalog, orders,
    sales as sold, stock, watches,
};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/products", web::get().to(list_products))
        .route("/products", web::post().to(create_product))
        .route("/products/{id}", web::get().to(get_product))
        .route("/products/{id}", web::patch().to(update_product))
        .route("/products/{id}/history", web::get().to(product_history))
        .route("/products/{id}/stock", web::get().to(product_stock))
        .route("/stores/{id}/stock", web::get().to(store_stock))
        .route("/stores/{id}/stock/{product_id}", web::put().to(set_stock))
        .route(
            "/stores/{id}/stock/{product_id}/adjust",
            web::post().to(adjust_stock),
        )
        .route("/stores/{id}/sales", web::get().to(sales))
        .route("/stores/{id}/inventory", web::get().to(inventory))
        .route("/orders", web::post().to(place_order))
        .route("/orders/{id}/returns", web::post().to(return_order))
        .route("/stores/{id}/orders", web::get().to(store_orders))
        .route("/users/{id}/orders", web::get().to(user_orders))
        .route(
            "/stores/{id}/stock/{product_id}/watch",
            web::put().to(watch),
        )
        .route(
            "/stores/{id}/stock/{product_id}/watch",
            web::delete().to(unwatch),
        )
        .route("/users/{id}/watches", web::get().to(user_watches));
}

async fn require_staff(state: &AppState, who: &Principal, store_id: i64) -> ApiResult<()> {
    if !state.db.store_exists(store_id).await? {
        return Err(ApiError::NotFound("store"));
    }
    if !state.db.is_staff_of(who, store_id).await? {
        return Err(ApiError::Forbidden("staff of this store only"));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/products", tag = "products",
    responses((status = 200, body = crate::routes::openapi::ProductList)))]
async fn list_products(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let products = catalog::products(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "products": products })))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(("id" = i64, Path, description = "product id")),
    responses((status = 200, body = crate::db::shop::Product)))]
async fn get_product(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let p = catalog::product(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateProduct {
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    #[schema(min_length = 1, max_length = 200)]
    artist: String,
    #[schema(minimum = 0, maximum = 100000000)]
    price: i64,
}

#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = CreateProduct, security(("bearer" = [])),
    responses(
        (status = 201, body = crate::db::shop::Product),
        (status = 403, description = "Admins only"),
    ))]
async fn create_product(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateProduct>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let new = NewProduct::parse(&body.title, &body.artist, body.price)?;
    let p = catalog::create_product(&state.db, &new, who.user_id).await?;
    tracing::info!(product_id = p.id, by = who.user_id, "product created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/products/{}", p.id)))
        .json(p))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchProduct {
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    artist: Option<String>,
    #[schema(minimum = 0, maximum = 100000000)]
    price: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", params(("id" = i64, Path, description = "product id")),
    request_body = PatchProduct, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::db::shop::Product),
        (status = 403, description = "Admins only"),
    ))]
async fn update_product(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<PatchProduct>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let update = ProductUpdate::parse(body.title.as_deref(), body.artist.as_deref(), body.price)?;
    let p = catalog::update_product(&state.db, *id, &update, who.user_id).await?;
    Ok(HttpResponse::Ok().json(p))
}

#[utoipa::path(get, path = "/api/v1/products/{id}/history", tag = "products", params(("id" = i64, Path, description = "product id")),
    responses((status = 200, body = crate::routes::openapi::ProductHistory)))]
async fn product_history(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let history = catalog::product_history(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "history": history })))
}

/// One album's stock at every store (the terminal client's "stock of an album").
#[utoipa::path(get, path = "/api/v1/products/{id}/stock", tag = "stock", params(("id" = i64, Path, description = "product id")),
    responses((status = 200, body = crate::routes::openapi::ProductStock)))]
async fn product_stock(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let stock = stock::product_stock(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "product_id": *id, "stock": stock })))
}

/// Public, as the live shop page of a visitor shows it.
#[utoipa::path(get, path = "/api/v1/stores/{id}/stock", tag = "stock", params(("id" = i64, Path, description = "store id")),
    responses((status = 200, body = crate::routes::openapi::StoreStock)))]
async fn store_stock(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let stock = stock::store_stock(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "store_id": *id, "stock": stock })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SetStock {
    #[schema(minimum = 0, maximum = 1000000)]
    quantity: i64,
    #[schema(max_length = 200)]
    reason: Option<String>,
}

/// Sets the quantity held (a count); `reason` defaults to `count`.
#[utoipa::path(put, path = "/api/v1/stores/{id}/stock/{product_id}", tag = "stock", params(("id" = i64, Path, description = "store id"), ("product_id" = i64, Path, description = "product id")),
    request_body = SetStock, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::shop::stock::StockChange),
        (status = 403, description = "Staff of this store only"),
    ))]
async fn set_stock(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
    body: web::Json<SetStock>,
) -> ApiResult<HttpResponse> {
    let (store_id, product_id) = path.into_inner();
    require_staff(&state, &who, store_id).await?;
    let level = StockLevel::parse(body.quantity)?;
    let reason = shop::parse_reason(body.reason.as_deref(), "count")?;
    let change =
        stock::set_stock(&state.db, store_id, product_id, level, &reason, who.user_id).await?;
    Ok(HttpResponse::Ok().json(change))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AdjustStock {
    #[schema(minimum = -1000000, maximum = 1000000)]
    delta: i64,
    #[schema(max_length = 200)]
    reason: Option<String>,
}

/// Adds or removes units; `reason` defaults to `adjustment`.
#[utoipa::path(post, path = "/api/v1/stores/{id}/stock/{product_id}/adjust", tag = "stock", params(("id" = i64, Path, description = "store id"), ("product_id" = i64, Path, description = "product id")),
    request_body = AdjustStock, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::shop::stock::StockChange),
        (status = 403, description = "Staff of this store only"),
        (status = 409, description = "`insufficient_stock`: removing more than is held"),
    ))]
async fn adjust_stock(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
    body: web::Json<AdjustStock>,
) -> ApiResult<HttpResponse> {
    let (store_id, product_id) = path.into_inner();
    require_staff(&state, &who, store_id).await?;
    let delta = Delta::parse(body.delta)?;
    let reason = shop::parse_reason(body.reason.as_deref(), "adjustment")?;
    let change =
        stock::adjust_stock(&state.db, store_id, product_id, delta, &reason, who.user_id).await?;
    Ok(HttpResponse::Ok().json(change))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaceOrder {
    store_id: i64,
    product_id: i64,
    #[schema(minimum = 1, maximum = 1000)]
    quantity: i64,
    /// One of the buyer's active coupons at this store: takes its value off.
    coupon_id: Option<i64>,
    /// The buyer, when an API key with the `order` scope (a point of sale) orders
    /// for a customer; people always buy for themselves and leave it out.
    user_id: Option<i64>,
}

/// `Idempotency-Key` is required: a buyer's retry after a lost answer must not buy
/// twice. The buyer earns the store's `earn_percent` of what they paid.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders",
    params(("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters", min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = PlaceOrder, security(("bearer" = [])),
    responses(
        (status = 201, description = "Ordered (also on a replay; see Idempotent-Replayed)",
            body = crate::shop::orders::Placed),
        (status = 400, description = "Missing or malformed Idempotency-Key"),
        (status = 403, description = "The coupon belongs to another store"),
        (status = 404, description = "No such store, product, or coupon of yours"),
        (status = 409, description = "`insufficient_stock` (with `available`), `coupon_not_active`, `coupon_expired`, or the key was used for a different order"),
    ))]
async fn place_order(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: web::Json<PlaceOrder>,
) -> ApiResult<HttpResponse> {
    let key = super::idempotency_key(&req)?;
    let quantity = Quantity::parse(body.quantity)?;
    let who = buyer(&state, who, body.store_id, body.user_id).await?;
    let request = OrderRequest {
        store_id: body.store_id,
        product_id: body.product_id,
        quantity,
        coupon_id: body.coupon_id,
        now: state.settings.clock.now().timestamp_millis(),
    };
    let answer = orders::place_order(&state.db, &who, &key, request).await?;
    let order = &answer.answer.order;
    tracing::info!(
        user_id = who.user_id,
        api_key_id = who.key_id(),
        store_id = body.store_id,
        product_id = body.product_id,
        quantity = quantity.get(),
        order_id = order.id,
        paid = order.paid,
        points = order.points_earned,
        replayed = answer.replayed,
        "order"
    );
    if !answer.replayed {
        state.metrics.orders.inc();
    }
    Ok(HttpResponse::Created()
        .insert_header(("Idempotent-Replayed", answer.replayed.to_string()))
        .json(answer.answer))
}

/// Who buys: the caller; or, for an API key, the customer it names, provided the
/// key may act at the store (the order then records the key).
async fn buyer(
    state: &AppState,
    who: Principal,
    store_id: i64,
    user_id: Option<i64>,
) -> ApiResult<Principal> {
    let Some(key) = who.key.clone() else {
        return match user_id {
            Some(u) if u != who.user_id => Err(ApiError::Forbidden(
                "people order for themselves; only an API key orders for a customer",
            )),
            _ => Ok(who),
        };
    };
    let Some(user_id) = user_id else {
        return Err(ApiError::invalid(
            "missing_user_id",
            "an API key orders for a customer: name them in user_id",
        ));
    };
    if !state.db.is_staff_of(&who, store_id).await? {
        return Err(ApiError::Forbidden(
            "this API key may not act at that store",
        ));
    }
    let user = state
        .db
        .user(user_id)
        .await?
        .filter(|u| u.role == crate::auth::Role::Customer)
        .ok_or(ApiError::NotFound("customer"))?;
    Ok(Principal {
        user_id,
        role: crate::auth::Role::Customer,
        name: user.name,
        login: user.member_no.or(user.login).unwrap_or_default(),
        key: Some(key),
        expires_at: None,
    })
}

#[utoipa::path(get, path = "/api/v1/users/{id}/orders", tag = "orders",
    params(("id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::OrderList),
        (status = 403, description = "Only yourself or an admin"),
    ))]
async fn user_orders(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if who.user_id != *id && !who.is_admin() {
        return Err(ApiError::Forbidden("your own orders only"));
    }
    let orders = orders::user_orders(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "orders": orders })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SalesQuery {
    /// First day, `YYYY-MM-DD` (UTC).
    #[param(format = Date)]
    from: String,
    /// Last day, inclusive; at most 366 days after `from`.
    #[param(format = Date)]
    to: String,
}

/// Units sold per UTC day and album, `from` to `to` (dates, inclusive).
#[utoipa::path(get, path = "/api/v1/stores/{id}/sales", tag = "sales", params(("id" = i64, Path, description = "store id"), SalesQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::Sales),
        (status = 403, description = "Staff of this store only"),
    ))]
async fn sales(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<SalesQuery>,
) -> ApiResult<HttpResponse> {
    require_staff(&state, &who, *id).await?;
    let period = Period::parse(&q.from, &q.to)?;
    let rows = sold::sales(&state.db, *id, &period).await?;
    let (from, to) = period.as_strings();
    Ok(HttpResponse::Ok().json(json!({ "store_id": *id, "from": from, "to": to, "sales": rows })))
}

#[utoipa::path(get, path = "/api/v1/stores/{id}/inventory", tag = "sales", params(("id" = i64, Path, description = "store id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::Inventory),
        (status = 403, description = "Staff of this store only"),
    ))]
async fn inventory(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    require_staff(&state, &who, *id).await?;
    let rows = sold::inventory(&state.db, *id, crate::time::now_millis()).await?;
    let rule = sold::stock_rule(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "store_id": *id, "inventory": rows, "rule": rule })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    #[schema(minimum = 1, maximum = 1000)]
    quantity: i64,
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
}

/// Returns part or all of an order: its store's staff or an admin, or the buyer
/// within 15 minutes. Stock goes back; the points the returned part earned come
/// back out (revoking unused coupons made of them first); the whole order back
/// restores the coupon it paid with.
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "orders",
    params(("id" = i64, Path, description = "order id"), ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters", min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = ReturnBody, security(("bearer" = [])),
    responses(
        (status = 201, description = "Returned (also on a replay; see Idempotent-Replayed)",
            body = crate::shop::returns::Returned),
        (status = 400, description = "Missing or malformed Idempotency-Key"),
        (status = 403, description = "Not this store's staff, not your order, or past the 15-minute cancel window"),
        (status = 409, description = "The key was used for a different request"),
        (status = 422, description = "`return_exceeds_order`: more than is left to return"),
    ))]
async fn return_order(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ReturnBody>,
) -> ApiResult<HttpResponse> {
    let key = super::idempotency_key(&req)?;
    let quantity = Quantity::parse(body.quantity)?;
    let reason = ReturnReason::parse(&body.reason)?;
    let request = ReturnRequest {
        order_id: *id,
        quantity,
        reason: &reason,
        by: &who,
        key: &key,
        now: state.settings.clock.now(),
    };
    let answer = returns::return_order(&state.db, &request).await?;
    let r = &answer.answer;
    tracing::info!(
        order_id = *id,
        by = who.user_id,
        quantity = r.returned,
        points_reversed = r.points_reversed,
        coupons_revoked = r.coupons_revoked.len(),
        replayed = answer.replayed,
        "order returned"
    );
    Ok(HttpResponse::Created()
        .insert_header(("Idempotent-Replayed", answer.replayed.to_string()))
        .json(&answer.answer))
}

/// `?before=ID&limit=N` (newest first; default 50, at most 200).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OrderPage {
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/stores/{id}/orders", tag = "orders",
    params(("id" = i64, Path, description = "store id"), OrderPage), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::OrderPage),
        (status = 403, description = "Staff of this store only"),
        (status = 422, description = "limit out of range"),
    ))]
async fn store_orders(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<OrderPage>,
) -> ApiResult<HttpResponse> {
    require_staff(&state, &who, *id).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("invalid_limit", "limit must be 1 to 200"));
    }
    let list = orders::store_orders(&state.db, *id, q.before, limit).await?;
    let next = (list.len() as i64 == limit)
        .then(|| list.last().map(|o| o.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "orders": list, "next_before": next })))
}

/// Tell me when it is back: the customer themself starts watching an album that is
/// sold out at this store. When a count, an adjustment or a return brings it back
/// above 0 they get one `stock.back` on `user:{id}` and the watch ends.
#[utoipa::path(put, path = "/api/v1/stores/{id}/stock/{product_id}/watch", tag = "stock",
    params(("id" = i64, Path, description = "store id"), ("product_id" = i64, Path, description = "product id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Now watching", body = crate::db::shop::watches::Watch),
        (status = 200, description = "Already watching", body = crate::db::shop::watches::Watch),
        (status = 403, description = "Only customers watch albums"),
        (status = 404, description = "No such store or product"),
        (status = 409, description = "`in_stock` (with `quantity`): the store has the album; nothing changed"),
    ))]
async fn watch(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (store_id, product_id) = path.into_inner();
    let now = state.settings.clock.now();
    let (how, w) = watches::watch(&state.db, &who, store_id, product_id, now).await?;
    Ok(match how {
        watches::Watched::Started => HttpResponse::Created().json(w),
        watches::Watched::Already => HttpResponse::Ok().json(w),
    })
}

/// Stops watching an album at this store.
#[utoipa::path(delete, path = "/api/v1/stores/{id}/stock/{product_id}/watch", tag = "stock",
    params(("id" = i64, Path, description = "store id"), ("product_id" = i64, Path, description = "product id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "No longer watching"),
        (status = 403, description = "Only customers watch albums"),
        (status = 404, description = "No such store or product, or not watching it"),
    ))]
async fn unwatch(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (store_id, product_id) = path.into_inner();
    watches::unwatch(&state.db, &who, store_id, product_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/users/{id}/watches", tag = "stock",
    params(("id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::WatchList),
        (status = 403, description = "Only yourself or an admin"),
        (status = 404, description = "No such user"),
    ))]
async fn user_watches(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if who.user_id != *id && !who.is_admin() {
        return Err(ApiError::Forbidden("your own watches only"));
    }
    let list = watches::user_watches(&state.db, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "watches": list })))
}
