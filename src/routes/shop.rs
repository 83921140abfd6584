//! The record shop over HTTP: products, stock, orders, sales, inventory.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, json};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::shop::{
    self, Delta, NewProduct, Period, ProductUpdate, Quantity, ShopError, StockLevel,
};
use crate::state::AppState;
use crate::store::idempotency::IdempotencyKey;

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
        .route("/users/{id}/orders", web::get().to(user_orders));
}

impl From<ShopError> for ApiError {
    fn from(e: ShopError) -> Self {
        match e {
            ShopError::Quantity => ApiError::invalid("invalid_quantity", e.to_string()),
            ShopError::StockLevel | ShopError::Delta => {
                ApiError::invalid("invalid_stock", e.to_string())
            }
            ShopError::Price | ShopError::Text(_) | ShopError::EmptyUpdate => {
                ApiError::invalid("invalid_product", e.to_string())
            }
            ShopError::Reason => ApiError::invalid("invalid_reason", e.to_string()),
            ShopError::Period => ApiError::bad_request("invalid_period", e.to_string()),
            ShopError::NoSuchProduct => ApiError::NotFound("product"),
            ShopError::NoSuchStore => ApiError::NotFound("store"),
            ShopError::NoSuchUser => ApiError::NotFound("user"),
            ShopError::Forbidden(m) => ApiError::Forbidden(m),
            ShopError::InsufficientStock { available } => {
                let mut details = Map::new();
                details.insert("available".into(), json!(available));
                ApiError::Conflict {
                    code: "insufficient_stock",
                    message: e.to_string(),
                    details: Some(details),
                }
            }
            ShopError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            ShopError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
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

async fn list_products(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({ "products": state.db.products().await? })))
}

async fn get_product(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let p = state
        .db
        .product(*id)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateProduct {
    title: String,
    artist: String,
    price: i64,
}

async fn create_product(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateProduct>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let new = NewProduct::parse(&body.title, &body.artist, body.price)?;
    let p = state.db.create_product(&new, who.user_id).await?;
    tracing::info!(product_id = p.id, by = who.user_id, "product created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/products/{}", p.id)))
        .json(p))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchProduct {
    title: Option<String>,
    artist: Option<String>,
    price: Option<i64>,
}

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
    let p = state.db.update_product(*id, &update, who.user_id).await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn product_history(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if state.db.product(*id).await?.is_none() {
        return Err(ApiError::NotFound("product"));
    }
    let history = state.db.product_history(*id).await?;
    Ok(HttpResponse::Ok().json(json!({ "history": history })))
}

/// One album's stock at every store (the terminal client's "stock of an album").
async fn product_stock(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    if state.db.product(*id).await?.is_none() {
        return Err(ApiError::NotFound("product"));
    }
    let stock = state.db.product_stock(*id).await?;
    Ok(HttpResponse::Ok().json(json!({ "product_id": *id, "stock": stock })))
}

/// Public, as the live shop page of a visitor shows it.
async fn store_stock(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    if !state.db.store_exists(*id).await? {
        return Err(ApiError::NotFound("store"));
    }
    let stock = state.db.store_stock(*id).await?;
    Ok(HttpResponse::Ok().json(json!({ "store_id": *id, "stock": stock })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetStock {
    quantity: i64,
    reason: Option<String>,
}

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
    let change = state
        .db
        .set_stock(store_id, product_id, level, &reason, who.user_id)
        .await?;
    Ok(HttpResponse::Ok().json(change))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustStock {
    delta: i64,
    reason: Option<String>,
}

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
    let change = state
        .db
        .adjust_stock(store_id, product_id, delta, &reason, who.user_id)
        .await?;
    Ok(HttpResponse::Ok().json(change))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceOrder {
    store_id: i64,
    product_id: i64,
    quantity: i64,
}

/// `Idempotency-Key` is required: a buyer's retry after a lost answer must not buy
/// twice.
async fn place_order(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: web::Json<PlaceOrder>,
) -> ApiResult<HttpResponse> {
    let key = req
        .headers()
        .get("idempotency-key")
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_idempotency_key",
                "send an Idempotency-Key header with each order",
            )
        })?
        .to_str()
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII characters",
            )
        })
        .and_then(|k| {
            IdempotencyKey::parse(k)
                .map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))
        })?;
    let quantity = Quantity::parse(body.quantity)?;
    let answer = state
        .db
        .place_order(who.user_id, &key, body.store_id, body.product_id, quantity)
        .await?;
    tracing::info!(
        user_id = who.user_id,
        store_id = body.store_id,
        product_id = body.product_id,
        quantity = quantity.get(),
        replayed = answer.replayed,
        "order"
    );
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::CREATED);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Idempotent-Replayed", answer.replayed.to_string()))
        .body(answer.body))
}

async fn user_orders(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    if who.user_id != *id && !who.is_admin() {
        return Err(ApiError::Forbidden("your own orders only"));
    }
    if state.db.user(*id).await?.is_none() {
        return Err(ShopError::NoSuchUser.into());
    }
    let orders = state.db.user_orders(*id).await?;
    Ok(HttpResponse::Ok().json(json!({ "orders": orders })))
}

#[derive(Deserialize)]
struct SalesQuery {
    from: String,
    to: String,
}

async fn sales(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<SalesQuery>,
) -> ApiResult<HttpResponse> {
    require_staff(&state, &who, *id).await?;
    let period = Period::parse(&q.from, &q.to)?;
    let rows = state.db.sales(*id, &period).await?;
    let (from, to) = period.as_strings();
    Ok(HttpResponse::Ok().json(json!({ "store_id": *id, "from": from, "to": to, "sales": rows })))
}

async fn inventory(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    require_staff(&state, &who, *id).await?;
    let since = crate::store::now_millis() - shop::RECENT_SALES_DAYS * 24 * 3600 * 1000;
    let rows = state.db.inventory(*id, since).await?;
    Ok(HttpResponse::Ok().json(json!({ "store_id": *id, "inventory": rows })))
}
