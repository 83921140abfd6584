//! The publish API (`POST /publish`) and the public topics it can reach
//! (`POST`, `GET /topics`); the rules are in [`crate::publish`].

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Principal;
use crate::db::topics::{self, TopicRow};
use crate::error::ApiResult;
use crate::publish::{self, NewTopic, Published};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/publish", web::post().to(publish_event))
        .route("/topics", web::post().to(create_topic))
        .route("/topics", web::get().to(list_topics));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishBody {
    /// `user:{id}`, `store:{id}` or the name of a topic an admin created.
    #[schema(max_length = 40)]
    channel: String,
    /// Must start with `app.` (`app.delivery.shipped`).
    #[serde(rename = "type")]
    #[schema(max_length = 64, pattern = "^app\\.[a-z0-9._-]+$")]
    event_type: String,
    /// Any JSON object of at most 16 KiB once serialised; becomes the envelope's
    /// `data`.
    #[schema(value_type = Object)]
    data: Value,
}

/// Pushes an integrator's own event through the durable log: readers of the
/// channel get it live, and resume across it like any other event. Admins, or API
/// keys with the `publish` scope (to their stores, their stores' members and
/// admin-created topics).
#[utoipa::path(post, path = "/api/v1/publish", tag = "publish", request_body = PublishBody,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Published),
        (status = 403, description = "Not an admin nor a publish key, or a key outside its stores"),
        (status = 404, description = "No such user, store or topic"),
        (status = 413, description = "`data` over 16 KiB"),
        (status = 422, description = "`invalid_channel`, `invalid_type` (not `app.`), `invalid_data` (not an object)"),
    ))]
async fn publish_event(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<PublishBody>,
) -> ApiResult<HttpResponse> {
    let done =
        publish::publish(&state.db, &who, &body.channel, &body.event_type, &body.data).await?;
    Ok(HttpResponse::Created().json(done))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopicBody {
    /// Lowercase letters, digits and `-`, starting with a letter.
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z][a-z0-9-]*$")]
    name: String,
}

/// Creates a public topic (admins): anyone reads it with `?topics=<name>`, admins
/// and publish keys publish to it.
#[utoipa::path(post, path = "/api/v1/topics", tag = "publish", request_body = TopicBody,
    security(("bearer" = [])),
    responses(
        (status = 201, body = NewTopic),
        (status = 403, description = "Admins only"),
        (status = 409, description = "`topic_exists`"),
        (status = 422, description = "`invalid_topic`"),
    ))]
async fn create_topic(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<TopicBody>,
) -> ApiResult<HttpResponse> {
    let made = publish::create_topic(&state.db, &who, &body.name).await?;
    Ok(HttpResponse::Created().json(made))
}

/// The topics admins created (besides `products` and `announcements`).
#[utoipa::path(get, path = "/api/v1/topics", tag = "publish",
    responses((status = 200, body = Vec<TopicRow>)))]
async fn list_topics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        topics::all(&state.db)
            .await
            .map_err(crate::error::ApiError::from)?,
    ))
}
