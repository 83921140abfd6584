//! The audit trail: `GET /audit`, newest first, paged. Admins see every row; an
//! owner only their stores' rows (and 403 for another store's `store_id`).

use actix_web::{HttpResponse, web};
use chrono::DateTime;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::db::audit::{self, AuditQuery};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

/// The kinds of audit rows.
pub const KINDS: &[&str] = &[
    "grant",
    "correction",
    "coupon_redeem",
    "order_return",
    "stock_set",
    "stock_adjust",
    "store_policy",
    "coupon_design",
];

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    store_id: Option<i64>,
    actor_id: Option<i64>,
    /// One of `grant`, `correction`, `coupon_redeem`, `order_return`, `stock_set`,
    /// `stock_adjust`, `store_policy`, `coupon_design`.
    #[param(max_length = 32)]
    kind: Option<String>,
    /// RFC 3339, inclusive.
    #[param(max_length = 64)]
    from: Option<String>,
    /// RFC 3339, exclusive.
    #[param(max_length = 64)]
    to: Option<String>,
    /// Rows with ids below this (the previous page's `next_before`).
    before: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

fn millis(s: Option<&str>, name: &str) -> ApiResult<Option<i64>> {
    s.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                ApiError::bad_request("bad_query", format!("{name} must be an RFC 3339 time"))
            })
    })
    .transpose()
}

/// Audit rows, newest first: `{rows, next_before}` (`null` on the last page).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::AuditPage),
        (status = 400, description = "`bad_query`: a malformed filter"),
        (status = 403, description = "Staff only; an owner only for their own stores"),
    ))]
async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    if !who.role.is_staff() {
        return Err(ApiError::Forbidden("only staff read the audit trail"));
    }
    if let Some(store_id) = q.store_id
        && !state.db.is_staff_of(&who, store_id).await?
    {
        return Err(ApiError::Forbidden(
            "owners read only their own stores' audit rows",
        ));
    }
    if q.kind.as_deref().is_some_and(|k| !KINDS.contains(&k)) {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("kind must be one of {}", KINDS.join(", ")),
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("bad_query", "limit must be 1 to 200"));
    }
    let query = AuditQuery {
        staff_of: (!who.is_admin()).then_some(who.user_id),
        store_id: q.store_id,
        actor_id: q.actor_id,
        kind: q.kind.clone(),
        from: millis(q.from.as_deref(), "from")?,
        to: millis(q.to.as_deref(), "to")?,
        before: q.before,
        limit,
    };
    let rows = audit::list(&state.db, &query).await?;
    let next_before = if rows.len() as i64 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(json!({ "rows": rows, "next_before": next_before })))
}
