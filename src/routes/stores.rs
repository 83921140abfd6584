use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{Login, Name, Password};
use crate::auth::{Principal, Role, password};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::store::users::NewUser;
use crate::stores::{NewStore, StoreError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/stores", web::post().to(create))
        .route("/stores", web::get().to(list))
        .route("/stores/{id}", web::get().to(get))
        .route("/staff", web::post().to(create_staff));
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::invalid("invalid_store", e.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStore {
    name: String,
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    owner_id: Option<i64>,
    coupon_threshold: Option<i64>,
}

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
    )?;
    if let Some(owner) = new.owner_id {
        match state.db.user_role(owner).await?.as_deref() {
            Some("owner") => {}
            Some(_) => {
                return Err(ApiError::invalid(
                    "invalid_store",
                    "owner_id must name a user with the owner role",
                ));
            }
            None => return Err(ApiError::invalid("invalid_store", "owner_id names no user")),
        }
    }
    let store = state.db.create_store(&new).await?;
    tracing::info!(store_id = store.id, by = who.user_id, "store created");
    Ok(HttpResponse::Created().json(store))
}

async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({ "stores": state.db.stores().await? })))
}

async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state
        .db
        .store(*id)
        .await?
        .ok_or(ApiError::NotFound("store"))?;
    Ok(HttpResponse::Ok().json(store))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStaff {
    name: String,
    login: String,
    password: String,
    role: Role,
    #[serde(default)]
    store_ids: Vec<i64>,
}

/// An admin creates an owner (bound to stores) or another admin.
async fn create_staff(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateStaff>,
) -> ApiResult<HttpResponse> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden("admins only"));
    }
    let b = body.into_inner();
    if b.role == Role::Customer {
        return Err(ApiError::invalid(
            "invalid_staff",
            "role must be owner or admin",
        ));
    }
    if b.store_ids.len() > 100 {
        return Err(ApiError::invalid("invalid_staff", "at most 100 stores"));
    }
    let name = Name::parse(&b.name)?;
    let login = Login::parse(&b.login)?;
    let pw = Password::parse(&b.password)?;
    for s in &b.store_ids {
        if !state.db.store_exists(*s).await? {
            return Err(ApiError::invalid(
                "invalid_staff",
                format!("store {s} does not exist"),
            ));
        }
    }
    let hash = password::hash(pw.into_inner()).await?;
    let new = NewUser {
        role: b.role,
        login: Some(login.as_str()),
        name: name.as_str(),
        phone: None,
        password_hash: Some(&hash),
    };
    let user = match state.db.create_user(&new, &b.store_ids).await {
        Ok(u) => u,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::conflict("login_taken", "that login is taken"));
        }
        Err(e) => return Err(e.into()),
    };
    let mut v = serde_json::to_value(&user).map_err(anyhow::Error::from)?;
    v["store_ids"] = json!(b.store_ids);
    Ok(HttpResponse::Created().json(v))
}
