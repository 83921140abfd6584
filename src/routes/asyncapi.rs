//! The AsyncAPI 3 document of the event stream (`GET /api/v1/asyncapi.json`),
//! generated from the typed payloads: each event type's schema is its payload
//! struct's `utoipa::ToSchema` derive, so the document cannot drift from what
//! `Tx::emit` writes. [`CATALOGUE`] lists every payload type with its channels;
//! `tests/api/asyncapi.rs` fails when a `Payload` declared anywhere in `src/` is
//! missing from it.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::events::Payload;
use crate::{announcements, jobs, mileage, shop, support};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/asyncapi.json", web::get().to(asyncapi_json));
}

/// A payload's schema and the named schemas it refers to.
type SchemaFn = fn() -> (RefOr<Schema>, Vec<(String, RefOr<Schema>)>);

fn schema_of<T: ToSchema>() -> (RefOr<Schema>, Vec<(String, RefOr<Schema>)>) {
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    (T::schema(), deps)
}

/// One event type of the catalogue.
pub struct Message {
    pub event_type: &'static str,
    /// Channel ids of [`CHANNELS`] it goes to.
    pub channels: &'static [&'static str],
    pub summary: &'static str,
    schema: SchemaFn,
}

const fn msg<P: Payload + ToSchema>(
    event_type: &'static str,
    channels: &'static [&'static str],
    summary: &'static str,
) -> Message {
    Message {
        event_type,
        channels,
        summary,
        schema: schema_of::<P>,
    }
}

// unwrap-free helper: the TYPE consts are checked equal to the names below by a
// unit test, so a renamed type cannot leave a stale name here.
use announcements::Announcement;
use jobs::events::JobCompleted;
use mileage::events as me;
use shop::events as se;
use support::events as su;

const US: &[&str] = &["user", "store"];

/// Every event type pointcast emits, with its payload.
pub static CATALOGUE: &[Message] = &[
    msg::<me::MileageGranted<'static>>(
        "mileage.granted",
        US,
        "Points credited by staff or earned by an order",
    ),
    msg::<me::CouponIssued<'static>>("coupon.issued", US, "One coupon a conversion issued"),
    msg::<me::CouponRedeemed<'static>>(
        "coupon.redeemed",
        US,
        "A coupon redeemed at the counter or paid with",
    ),
    msg::<me::MileageReversed<'static>>("mileage.reversed", US, "Points taken back by a return"),
    msg::<me::CouponRevoked<'static>>("coupon.revoked", US, "A coupon revoked by a return"),
    msg::<me::CouponRestored<'static>>("coupon.restored", US, "A coupon given back by a return"),
    msg::<me::MileageExpiring<'static>>(
        "mileage.expiring",
        &["user"],
        "Points that will expire within 7 days",
    ),
    msg::<me::MileageExpired<'static>>("mileage.expired", US, "Points that expired"),
    msg::<me::CouponExpired<'static>>("coupon.expired", US, "A coupon that expired"),
    msg::<se::OrderPlaced<'static>>("order.placed", &["user"], "An order placed"),
    msg::<se::OrderReturned<'static>>("order.returned", US, "An order returned"),
    msg::<se::StockChanged<'static>>("stock.changed", &["products"], "Stock changed (public)"),
    msg::<se::StaffStockChanged<'static>>(
        "stock.changed",
        &["store"],
        "Stock changed (staff: with order and actor)",
    ),
    msg::<se::StockBack<'static>>("stock.back", &["user"], "A watched album is back in stock"),
    msg::<se::StockLow>("stock.low", &["store"], "Stock below its optimum"),
    msg::<se::ProductUpdated<'static>>(
        "product.updated",
        &["products"],
        "A product created or changed",
    ),
    msg::<su::SupportOpened<'static>>(
        "support.opened",
        &["user", "store", "admin"],
        "A support conversation opened",
    ),
    msg::<su::SupportMessage<'static>>(
        "support.message",
        &["user", "store", "admin"],
        "A support message",
    ),
    msg::<su::SupportClosed<'static>>(
        "support.closed",
        &["user", "store", "admin"],
        "A support conversation closed",
    ),
    msg::<su::InquiryReceived<'static>>(
        "inquiry.received",
        &["admin"],
        "An inquiry for the admins",
    ),
    msg::<Announcement<'static>>(
        "announcement",
        &["user", "announcements"],
        "An announcement",
    ),
    msg::<JobCompleted<'static>>("job.completed", &["admin"], "A scheduled job's run ended"),
];

/// The channels, by id: (id, address, description).
const CHANNELS: &[(&str, &str, &str)] = &[
    ("user", "user:{id}", "One user's own events"),
    (
        "store",
        "store:{id}",
        "A store's staff (owners of the store, admins)",
    ),
    ("admin", "admin", "Admins only"),
    (
        "products",
        "products",
        "Public: stock and catalogue changes",
    ),
    (
        "announcements",
        "announcements",
        "Public: announcements to everyone",
    ),
    (
        "topic",
        "{topic}",
        "Public topics an admin created (`POST /api/v1/topics`); carry `app.*` events",
    ),
];

fn document() -> Value {
    let mut schemas = Map::new();
    let mut messages = Map::new();
    let mut by_channel: Map<String, Value> = Map::new();
    for (i, m) in CATALOGUE.iter().enumerate() {
        let (schema, deps) = (m.schema)();
        for (name, s) in deps {
            schemas.insert(name, json!(s));
        }
        // Two payloads share `stock.changed` (public and staff): keys stay unique.
        let key = if CATALOGUE[..i].iter().any(|o| o.event_type == m.event_type) {
            format!("{}.staff", m.event_type)
        } else {
            m.event_type.to_string()
        };
        messages.insert(
            key.clone(),
            json!({
                "name": m.event_type,
                "title": m.event_type,
                "summary": m.summary,
                "contentType": "application/json",
                "payload": envelope(m.event_type, json!(schema)),
            }),
        );
        for c in m.channels {
            let entry = by_channel.entry(c.to_string()).or_insert_with(|| json!({}));
            entry[&key] = json!({ "$ref": format!("#/components/messages/{key}") });
        }
    }
    messages.insert(
        "app".into(),
        json!({
            "name": "app.*",
            "title": "Integrators' events",
            "summary": "Published through POST /api/v1/publish: any type starting with `app.`, data a JSON object up to 16 KiB",
            "contentType": "application/json",
            "payload": envelope("app.*", json!({"type": "object"})),
        }),
    );
    for c in ["user", "store", "topic"] {
        let entry = by_channel.entry(c.to_string()).or_insert_with(|| json!({}));
        entry["app"] = json!({ "$ref": "#/components/messages/app" });
    }
    for (name, summary) in [
        (
            "stream.open",
            "First on every SSE stream; its `id:` is the current cursor (not in the log)",
        ),
        (
            "stream.reset",
            "The log no longer holds the reader's cursor: reload state, continue from its id",
        ),
    ] {
        messages.insert(
            name.into(),
            json!({
                "name": name, "title": name, "summary": summary, "contentType": "application/json",
                "payload": envelope(name, json!({"type": "object", "properties": {
                    "cursor": {"type": "integer"}, "reason": {"type": "string"}}})),
            }),
        );
        for (id, _, _) in CHANNELS {
            let entry = by_channel
                .entry(id.to_string())
                .or_insert_with(|| json!({}));
            entry[name] = json!({ "$ref": format!("#/components/messages/{name}") });
        }
    }
    let mut channels = Map::new();
    let mut operations = Map::new();
    for (id, address, description) in CHANNELS {
        let mut ch = json!({
            "address": address,
            "description": description,
            "messages": by_channel.remove(*id).unwrap_or_else(|| json!({})),
        });
        if address.contains("{id}") {
            ch["parameters"] = json!({"id": {"description": "the user's or store's id"}});
        }
        if address.contains("{topic}") {
            ch["parameters"] = json!({"topic": {"description": "the topic's name"}});
        }
        channels.insert(id.to_string(), ch);
        operations.insert(
            format!("receive_{id}"),
            json!({
                "action": "receive",
                "channel": {"$ref": format!("#/channels/{id}")},
                "summary": format!("Read `{address}` over SSE (`GET /api/v1/events`) or long-poll (`GET /api/v1/events/poll`)"),
            }),
        );
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "pointcast events",
            "version": "1",
            "description": "The push stream of pointcast. Every event is an envelope \
                `{id, type, channel, at, data}`; ids increase across the whole log, and a \
                reader resumes from its last id (`Last-Event-ID` or `?cursor=`). A reader \
                sees the union of the channels it may read (DESIGN.md §2). Generated from \
                the typed payloads; see also /api/v1/openapi.json.",
        },
        "servers": {
            "sse": {"host": "localhost:8080", "pathname": "/api/v1/events", "protocol": "http",
                     "description": "Server-Sent Events: `event:` is the type, `data:` the envelope"},
            "long-poll": {"host": "localhost:8080", "pathname": "/api/v1/events/poll", "protocol": "http",
                     "description": "Long-poll: `200 {events, cursor}`"},
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    })
}

/// The envelope around a payload.
fn envelope(event_type: &str, data: Value) -> Value {
    let ty = if event_type.ends_with('*') {
        json!({"type": "string", "pattern": "^app\\."})
    } else {
        json!({"type": "string", "const": event_type})
    };
    json!({
        "type": "object",
        "required": ["id", "type", "channel", "at", "data"],
        "properties": {
            "id": {"type": "integer", "description": "The event's id: the cursor after it"},
            "type": ty,
            "channel": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "data": data,
        },
    })
}

/// The AsyncAPI 3 document of the event stream.
#[utoipa::path(get, path = "/api/v1/asyncapi.json", tag = "meta",
    responses((status = 200, description = "The AsyncAPI 3 document", content_type = "application/json")))]
pub async fn asyncapi_json() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| document().to_string());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_catalogue_entry_names_its_payloads_type() {
        // The names above are written twice (here and in `TYPE`): tie them.
        let consts = [
            me::MileageGranted::TYPE,
            me::CouponIssued::TYPE,
            me::CouponRedeemed::TYPE,
            me::MileageReversed::TYPE,
            me::CouponRevoked::TYPE,
            me::CouponRestored::TYPE,
            me::MileageExpiring::TYPE,
            me::MileageExpired::TYPE,
            me::CouponExpired::TYPE,
            se::OrderPlaced::TYPE,
            se::OrderReturned::TYPE,
            se::StockChanged::TYPE,
            se::StaffStockChanged::TYPE,
            se::StockBack::TYPE,
            se::StockLow::TYPE,
            se::ProductUpdated::TYPE,
            su::SupportOpened::TYPE,
            su::SupportMessage::TYPE,
            su::SupportClosed::TYPE,
            su::InquiryReceived::TYPE,
            Announcement::TYPE,
            JobCompleted::TYPE,
        ];
        let names: Vec<&str> = CATALOGUE.iter().map(|m| m.event_type).collect();
        assert_eq!(names, consts);
    }

    #[test]
    fn the_document_has_a_schema_for_every_message() {
        let doc = document();
        assert_eq!(doc["asyncapi"], "3.0.0");
        let messages = doc["components"]["messages"].as_object().unwrap();
        for m in CATALOGUE {
            assert!(messages.values().any(|v| v["name"] == m.event_type));
        }
        let granted = &messages["mileage.granted"]["payload"]["properties"]["data"];
        assert!(granted.to_string().contains("balance_before_conversion"));
        // Every $ref points at a schema the document holds.
        let text = doc.to_string();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
