//! The web pages (customer, shop, admin console), embedded in the binary so that
//! `pointcast serve` alone serves them. A small static table: no build step, no
//! files on disk at run time.
//!
//! Pages get the security headers (a same-origin-only CSP, no framing, no sniffing);
//! every file is revalidated by `ETag` (`Cache-Control: no-cache`), so a new binary's
//! pages are never mixed with an old binary's scripts in a browser cache.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    /// Path under `/` (pages) or `/assets/` (everything else).
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $ct:literal) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
        }
    };
}

/// Pages, by route.
static PAGES: &[Asset] = &[
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/shop", "shop.html", "text/html; charset=utf-8"),
    asset!("/admin", "admin.html", "text/html; charset=utf-8"),
];

/// Scripts, styles and images, under `/assets/`.
static ASSETS: &[Asset] = &[
    asset!("css/app.css", "css/app.css", "text/css; charset=utf-8"),
    asset!("js/api.js", "js/api.js", "text/javascript; charset=utf-8"),
    asset!("js/live.js", "js/live.js", "text/javascript; charset=utf-8"),
    asset!("js/i18n.js", "js/i18n.js", "text/javascript; charset=utf-8"),
    asset!("js/chat.js", "js/chat.js", "text/javascript; charset=utf-8"),
    asset!("js/ui.js", "js/ui.js", "text/javascript; charset=utf-8"),
    asset!(
        "js/customer.js",
        "js/customer.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("js/shop.js", "js/shop.js", "text/javascript; charset=utf-8"),
    asset!(
        "js/admin.js",
        "js/admin.js",
        "text/javascript; charset=utf-8"
    ),
    // The browser client for integrators, also at `/client/pointcast.js`.
    asset!(
        "client/pointcast.js",
        "client/pointcast.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/i18n-console.js",
        "js/i18n-console.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/i18n-customer.js",
        "js/i18n-customer.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/ctx.js",
        "js/console/ctx.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/stores.js",
        "js/console/stores.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/members.js",
        "js/console/members.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/design.js",
        "js/console/design.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/albums.js",
        "js/console/albums.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/stock.js",
        "js/console/stock.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/sales.js",
        "js/console/sales.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/jobs.js",
        "js/console/jobs.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/support.js",
        "js/console/support.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/inquiries.js",
        "js/console/inquiries.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/orders.js",
        "js/console/orders.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/audit.js",
        "js/console/audit.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/console/misc.js",
        "js/console/misc.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/customer/history.js",
        "js/customer/history.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/customer/places.js",
        "js/customer/places.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("js/errors.json", "js/errors.json", "application/json"),
    asset!("favicon.svg", "favicon.svg", "image/svg+xml"),
];

/// Same-origin only. Scripts set styles through the CSSOM (allowed), never through
/// inline `style` attributes (which this policy refuses).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    for (i, page) in PAGES.iter().enumerate() {
        cfg.route(
            page.path,
            web::get().to(move |req: HttpRequest| async move { serve(&req, &PAGES[i], true) }),
        );
    }
    cfg.route(
        "/client/pointcast.js",
        web::get().to(|req: HttpRequest| async move {
            match ASSETS.iter().find(|a| a.path == "client/pointcast.js") {
                Some(a) => serve(&req, a, false),
                None => super::not_found().await,
            }
        }),
    );
    cfg.route("/assets/{path:.*}", web::get().to(asset)).route(
        "/favicon.ico",
        web::get()
            .to(|req: HttpRequest| async move { serve(&req, &ASSETS[ASSETS.len() - 1], false) }),
    );
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.path == path.as_str()) {
        Some(a) => serve(&req, a, false),
        None => super::not_found().await,
    }
}

/// A strong validator per file, computed once (the bytes never change at run time).
fn etag(asset: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        PAGES
            .iter()
            .chain(ASSETS.iter())
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..20]))
            .collect()
    });
    let index = PAGES
        .iter()
        .chain(ASSETS.iter())
        .position(|a| std::ptr::eq(a, asset))
        .unwrap_or(0);
    tags.get(index).map(String::as_str).unwrap_or("\"0\"")
}

fn serve(req: &HttpRequest, asset: &Asset, page: bool) -> HttpResponse {
    let tag = etag(asset);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
    if page {
        res.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if fresh {
        return res.finish();
    }
    res.content_type(asset.content_type).body(asset.body)
}
