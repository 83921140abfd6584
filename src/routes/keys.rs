//! API keys for machine clients (`/keys`): made by an admin, or by an owner for
//! their stores; the secret is in the creation answer only. What a key may do is
//! [`crate::auth::keys`]; the flows are [`crate::accounts::api_keys`].

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::accounts::api_keys::{self, NewKey};
use crate::auth::Principal;
use crate::db::api_keys::KeyRow;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys", web::post().to(create))
        .route("/keys/{id}", web::delete().to(revoke));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKey {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// One or more of `grant`, `order`, `announce`, `publish`, `read`.
    #[schema(max_items = 5, value_type = Vec<String>)]
    scopes: Vec<String>,
    /// The stores the key may act for (an owner's: some of their own stores).
    #[serde(default)]
    #[schema(max_items = 100)]
    store_ids: Vec<i64>,
}

/// `POST /keys`: the key's row and, this once, the key itself.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedKey {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub store_ids: Vec<i64>,
    pub created_at: String,
    /// Send as `Authorization: Bearer <key>`. Shown only here; stored hashed.
    pub key: String,
}

/// Lists API keys: every key for an admin; for an owner, those acting for one of
/// their stores. Never the secrets.
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<KeyRow>),
        (status = 403, description = "Admins and owners only (never a key)"),
    ))]
async fn list(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(api_keys::list(&state.db, &who).await?))
}

/// Makes a key with a name, scopes and the stores it may act for.
#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = CreateKey,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedKey),
        (status = 403, description = "Admins and owners only; `not_your_store` for an owner naming another's store"),
        (status = 422, description = "`invalid_api_key`: bad name, scopes or stores"),
    ))]
async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateKey>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let made = api_keys::create(
        &state.db,
        &who,
        NewKey {
            name: body.name,
            scopes: body.scopes,
            store_ids: body.store_ids,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(CreatedKey {
        id: made.row.id,
        name: made.row.name,
        scopes: made.row.scopes,
        store_ids: made.row.store_ids,
        created_at: made.row.created_at,
        key: made.secret,
    }))
}

/// Revokes a key: its very next request is a 401, on every instance.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys",
    params(("id" = i64, Path, description = "key id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked (or already was)"),
        (status = 403, description = "An owner's key that also acts for another's store"),
    ))]
async fn revoke(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    api_keys::revoke(&state.db, &who, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
