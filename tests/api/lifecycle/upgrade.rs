//! Upgrading in place (#16): a database written by the previous release (schema
//! versions 1 to 5, made here with its own migration files and rows written as that
//! release wrote them) starts with this binary, migrates forward and loses nothing.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Row};

use super::*;
use crate::helpers::*;

/// The previous release's migrations, as its runner recorded them.
const SQLITE: [(i64, &str, &str); 5] = [
    (
        1,
        "foundation",
        include_str!("../../../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "loyalty",
        include_str!("../../../migrations/sqlite/0002_loyalty.sql"),
    ),
    (
        3,
        "shop",
        include_str!("../../../migrations/sqlite/0003_shop.sql"),
    ),
    (
        4,
        "support",
        include_str!("../../../migrations/sqlite/0004_support.sql"),
    ),
    (
        5,
        "jobs",
        include_str!("../../../migrations/sqlite/0005_jobs.sql"),
    ),
];
const POSTGRES: [(i64, &str, &str); 5] = [
    (
        1,
        "foundation",
        include_str!("../../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "loyalty",
        include_str!("../../../migrations/postgres/0002_loyalty.sql"),
    ),
    (
        3,
        "shop",
        include_str!("../../../migrations/postgres/0003_shop.sql"),
    ),
    (
        4,
        "support",
        include_str!("../../../migrations/postgres/0004_support.sql"),
    ),
    (
        5,
        "jobs",
        include_str!("../../../migrations/postgres/0005_jobs.sql"),
    ),
];

/// What the previous release left in the database, as the test wrote it.
struct Old {
    kim: User,
    owner: User,
    store: i64,
    album: i64,
    order: i64,
    /// (id, kind, points, balance_after), oldest first.
    entries: Vec<(i64, &'static str, i64, i64)>,
    active_coupon: i64,
    redeemed_coupon: i64,
    /// Kim's channel: (id, type, data), in id order.
    kim_events: Vec<(i64, &'static str, Value)>,
    /// The store's channel.
    store_events: Vec<(i64, &'static str, Value)>,
    applied_at: i64,
}

async fn connect(db: &TestDb) -> AnyConnection {
    sqlx::any::install_default_drivers();
    let url = if db.is_postgres() {
        db.url.clone()
    } else {
        format!("{}?mode=rwc", db.url)
    };
    AnyConnection::connect(&url)
        .await
        .expect("connect to the test database")
}

/// Inserts a row and returns its id.
async fn insert(conn: &mut AnyConnection, sql: &'static str, binds: Vec<Bind>) -> i64 {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
            Bind::Null => q.bind(None::<i64>),
        };
    }
    q.fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

enum Bind {
    Int(i64),
    Text(String),
    Null,
}

fn i(v: i64) -> Bind {
    Bind::Int(v)
}

fn t(v: &str) -> Bind {
    Bind::Text(v.to_string())
}

async fn exec(conn: &mut AnyConnection, sql: &'static str, binds: Vec<Bind>) {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
            Bind::Null => q.bind(None::<i64>),
        };
    }
    q.execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn token(n: u8) -> String {
    format!("pc_{}", hex::encode([n; 32]))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Builds the previous release's schema and writes its data.
async fn previous_release(db: &TestDb) -> Old {
    let mut conn = connect(db).await;
    let applied_at = chrono::Utc::now().timestamp_millis() - 86_400_000;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for (version, name, sql) in if db.is_postgres() { POSTGRES } else { SQLITE } {
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(name)
        .bind(applied_at)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    let now = chrono::Utc::now().timestamp_millis();
    let at = now - 3_600_000;
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let c = &mut conn;
    let kim = insert(c, "INSERT INTO users (role, member_no, name, phone, created_at) VALUES ('customer', 'M00000042', 'Old Kim', '010-1234-5678', $1) RETURNING id", vec![i(at)]).await;
    let owner = insert(c, "INSERT INTO users (role, login, name, created_at) VALUES ('owner', 'old.owner', 'Old Owner', $1) RETURNING id", vec![i(at)]).await;
    let (kim_token, owner_token) = (token(0x4b), token(0x4f));
    for (user, tok) in [(kim, &kim_token), (owner, &owner_token)] {
        exec(c, "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)", vec![t(&token_hash(tok)), i(user), i(at), i(now + 86_400_000)]).await;
    }
    let store = insert(c, "INSERT INTO stores (name, address, lat, lon, owner_id, joined_at) VALUES ('Old Hongdae', 'Seoul', 37.55, 126.92, $1, $2) RETURNING id", vec![i(owner), i(at)]).await;
    exec(
        c,
        "INSERT INTO store_staff (store_id, user_id) VALUES ($1, $2)",
        vec![i(store), i(owner)],
    )
    .await;
    exec(
        c,
        "INSERT INTO memberships (store_id, user_id, joined_at) VALUES ($1, $2, $3)",
        vec![i(store), i(kim), i(at)],
    )
    .await;

    // The shop: an album, 10 delivered, 2 sold to Kim.
    let album = insert(c, "INSERT INTO products (title, artist, price, created_at, updated_at) VALUES ('Old Album', 'Old Artist', 30000, $1, $1) RETURNING id", vec![i(at)]).await;
    exec(c, "INSERT INTO product_history (product_id, title, artist, price, changed_at) VALUES ($1, 'Old Album', 'Old Artist', 30000, $2)", vec![i(album), i(at)]).await;
    exec(
        c,
        "INSERT INTO stock (store_id, product_id, quantity, updated_at) VALUES ($1, $2, 8, $3)",
        vec![i(store), i(album), i(at)],
    )
    .await;
    let order = insert(c, "INSERT INTO orders (user_id, store_id, product_id, quantity, unit_price, total, day, created_at) VALUES ($1, $2, $3, 2, 30000, 60000, $4, $5) RETURNING id", vec![i(kim), i(store), i(album), t(&day), i(at)]).await;
    exec(c, "INSERT INTO stock_changes (store_id, product_id, delta, quantity, reason, actor_id, order_id, at) VALUES ($1, $2, 10, 10, 'delivery', $3, $4, $5)", vec![i(store), i(album), i(owner), Bind::Null, i(at)]).await;
    exec(c, "INSERT INTO stock_changes (store_id, product_id, delta, quantity, reason, actor_id, order_id, at) VALUES ($1, $2, -2, 8, 'order', $3, $4, $5)", vec![i(store), i(album), i(kim), i(order), i(at)]).await;

    // The loyalty program: 3,200 granted, 3,000 converted into two coupons, 600 more;
    // one coupon redeemed by the owner.
    let mut entries = Vec::new();
    for (kind, points, after, actor) in [
        ("grant", 3_200, 3_200, Some(owner)),
        ("conversion", -3_000, 200, None),
        ("grant", 600, 800, Some(owner)),
    ] {
        let id = insert(c, "INSERT INTO mileage_entries (store_id, user_id, kind, points, balance_after, reason, actor_id, created_at) VALUES ($1, $2, $3, $4, $5, 'visit', $6, $7) RETURNING id", vec![i(store), i(kim), t(kind), i(points), i(after), actor.map_or(Bind::Null, i), i(at)]).await;
        entries.push((id, kind, points, after));
    }
    exec(c, "INSERT INTO mileage_balances (store_id, user_id, balance, updated_at) VALUES ($1, $2, 800, $3)", vec![i(store), i(kim), i(at)]).await;
    let mut coupon_ids = Vec::new();
    for _ in 0..2 {
        coupon_ids.push(insert(c, "INSERT INTO coupons (store_id, user_id, entry_id, shape, color, label, issued_at) VALUES ($1, $2, $3, 'rounded', '#d9480f', 'COUPON', $4) RETURNING id", vec![i(store), i(kim), i(entries[1].0), i(at)]).await);
    }
    exec(
        c,
        "UPDATE coupons SET redeemed_at = $1, redeemed_by = $2 WHERE id = $3",
        vec![i(at), i(owner), i(coupon_ids[1])],
    )
    .await;
    exec(c, "INSERT INTO redemptions (coupon_id, store_id, user_id, redeemed_by, redeemed_at) VALUES ($1, $2, $3, $4, $5)", vec![i(coupon_ids[1]), i(store), i(kim), i(owner), i(at)]).await;

    // The event log, as the previous release wrote it.
    let store_ref = json!({"id": store, "name": "Old Hongdae"});
    let kim_channel = format!("user:{kim}");
    let store_channel = format!("store:{store}");
    let logged: Vec<(&String, &'static str, Value)> = vec![
        (
            &kim_channel,
            "mileage.granted",
            json!({"user_id": kim, "store": store_ref, "points": 3200, "balance_before_conversion": 3200, "balance": 200, "coupons_issued": 2, "reason": "visit", "granted_by": {"id": owner, "name": "Old Owner"}, "entry_id": entries[0].0}),
        ),
        (
            &store_channel,
            "mileage.granted",
            json!({"user_id": kim, "store": store_ref, "points": 3200, "balance": 200}),
        ),
        (
            &kim_channel,
            "coupon.issued",
            json!({"user_id": kim, "coupon": {"id": coupon_ids[0]}, "store": store_ref, "balance": 200}),
        ),
        (
            &kim_channel,
            "coupon.issued",
            json!({"user_id": kim, "coupon": {"id": coupon_ids[1]}, "store": store_ref, "balance": 200}),
        ),
        (
            &kim_channel,
            "order.placed",
            json!({"order": {"id": order, "quantity": 2, "total": 60000}, "stock_left": 8}),
        ),
        (
            &store_channel,
            "stock.changed",
            json!({"store_id": store, "product_id": album, "quantity": 8, "delta": -2, "reason": "order", "order_id": order, "by": kim}),
        ),
        (
            &kim_channel,
            "coupon.redeemed",
            json!({"user_id": kim, "coupon": {"id": coupon_ids[1]}, "store": store_ref, "redeemed_by": {"id": owner, "name": "Old Owner"}, "redemption_id": 1}),
        ),
    ];
    let (mut kim_events, mut store_events) = (Vec::new(), Vec::new());
    for (channel, kind, data) in logged {
        let id = insert(
            c,
            "INSERT INTO events (channel, type, at, data) VALUES ($1, $2, $3, $4) RETURNING id",
            vec![t(channel), t(kind), i(at), t(&data.to_string())],
        )
        .await;
        if *channel == kim_channel {
            kim_events.push((id, kind, data));
        } else {
            store_events.push((id, kind, data));
        }
    }
    conn.close().await.unwrap();
    Old {
        kim: User {
            id: kim,
            login: "M00000042".into(),
            token: kim_token,
        },
        owner: User {
            id: owner,
            login: "old.owner".into(),
            token: owner_token,
        },
        store,
        album,
        order,
        entries,
        active_coupon: coupon_ids[0],
        redeemed_coupon: coupon_ids[1],
        kim_events,
        store_events,
        applied_at,
    }
}

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_in_place_and_loses_nothing() {
    let db = Arc::new(TestDb::new().await);
    let old = previous_release(&db).await;

    let app = spawn_on(Arc::clone(&db), |_| {}).await;

    // The migration is recorded after the old ones, which are untouched.
    let mut conn = connect(&db).await;
    let versions: Vec<(i64, String, i64)> =
        sqlx::query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    conn.close().await.unwrap();
    // 0006 and whatever later migrations there are (0007 onwards) were applied.
    assert!(versions.len() >= 6, "{versions:?}");
    assert!(versions[..5].iter().all(|v| v.2 == old.applied_at));
    assert_eq!(versions[5].0, 6);
    assert!(
        versions[5..].iter().all(|v| v.2 > old.applied_at),
        "{versions:?}"
    );

    // The old sessions still log in.
    let me = get_json(&app, "/api/v1/me", &old.kim.token).await;
    assert_eq!(
        (&me["id"], &me["role"]),
        (&json!(old.kim.id), &json!("customer"))
    );
    let me = get_json(&app, "/api/v1/me", &old.owner.token).await;
    assert_eq!(me["store_ids"], json!([old.store]));

    // The store has the new policy's defaults: it earns nothing until it opts in.
    let s = json_of(
        app.get(&format!("/api/v1/stores/{}", old.store), None)
            .await,
    )
    .await;
    assert_eq!(
        (
            &s["earn_percent"],
            &s["coupon_value"],
            &s["coupon_threshold"]
        ),
        (&json!(0), &json!(10_000), &json!(1_500))
    );
    assert_eq!(s["name"], "Old Hongdae");
    assert_eq!(
        (&s["points_valid_days"], &s["coupon_valid_days"]),
        (&json!(365), &json!(90))
    );

    // Balances and ledgers.
    let row = balance_row(&app, &old.kim, old.store)
        .await
        .expect("the old balance");
    assert_eq!(
        (&row["balance"], &row["member"]),
        (&json!(800), &json!(true))
    );
    let list = assert_ledger_adds_up(&app, &old.kim, old.store).await;
    let got: Vec<(i64, String, i64, i64)> = list
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().into(),
                e["points"].as_i64().unwrap(),
                e["balance_after"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(i64, String, i64, i64)> = old
        .entries
        .iter()
        .map(|(id, k, p, b)| (*id, (*k).to_string(), *p, *b))
        .collect();
    assert_eq!(got, want);
    assert!(list.iter().all(|e| e["order_id"].is_null()));
    // Migration 7: old points never expire; the balance (800) sits in the newest
    // grants, each holding at most its own points: 600 of the 600, 200 of the 3,200.
    let held: Vec<i64> = list
        .iter()
        .map(|e| e["remaining"].as_i64().unwrap())
        .collect();
    assert_eq!(held, [200, 0, 600]);
    // Migration 10: the old conversion names the grant that caused it, so the
    // history explains the 3,200 as "3,000 became two coupons, balance 200".
    let first = list
        .iter()
        .find(|e| e["id"].as_i64() == Some(old.entries[0].0))
        .unwrap();
    assert_eq!(first["converted"]["entry_id"], old.entries[1].0);
    assert_eq!(first["converted"]["points"], 3000);
    assert_eq!(first["converted"]["balance_after"], 200);
    assert_eq!(
        first["converted"]["coupon_ids"].as_array().unwrap().len(),
        2
    );
    assert!(list.iter().all(|e| e["expires_at"].is_null()));
    assert_eq!(row["expiring"], Value::Null);
    assert!(
        coupons(&app, &old.kim, old.store)
            .await
            .iter()
            .all(|c| c["expires_at"].is_null())
    );
    let members = get_json(
        &app,
        &format!("/api/v1/stores/{}/members", old.store),
        &old.owner.token,
    )
    .await;
    assert_eq!(members["members"][0]["active_coupons"], 1);

    // Coupons: one active, one redeemed, with its redemption.
    let mut held = coupons(&app, &old.kim, old.store).await;
    held.sort_by_key(|c| c["id"].as_i64());
    let statuses: Vec<(i64, &str)> = held
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            (old.active_coupon, "active"),
            (old.redeemed_coupon, "redeemed")
        ]
    );
    let log = get_json(
        &app,
        &format!("/api/v1/stores/{}/redemptions", old.store),
        &old.owner.token,
    )
    .await;
    assert_eq!(log["redemptions"][0]["coupon_id"], old.redeemed_coupon);

    // Orders: paid their total, no discount, placed.
    let list = orders(&app, &old.kim).await;
    assert_eq!(list.len(), 1);
    let o = &list[0];
    assert_eq!(o["id"], old.order);
    assert_eq!(
        (&o["quantity"], &o["unit_price"], &o["total"]),
        (&json!(2), &json!(30_000), &json!(60_000))
    );
    assert_eq!(
        (&o["paid"], &o["discount"], &o["status"]),
        (&json!(60_000), &json!(0), &json!("placed"))
    );
    assert_eq!(
        (
            &o["points_earned"],
            &o["returned_quantity"],
            &o["coupon_id"]
        ),
        (&json!(0), &json!(0), &Value::Null)
    );
    assert_eq!(
        (&o["title"], &o["store_name"]),
        (&json!("Old Album"), &json!("Old Hongdae"))
    );
    let theirs = get_json(
        &app,
        &format!("/api/v1/stores/{}/orders", old.store),
        &old.owner.token,
    )
    .await;
    assert_eq!(theirs["orders"][0], *o);
    assert_eq!(stock(&app, old.store, old.album).await, 8);

    // Events: resumable from cursor 0, and from the middle, with the same ids.
    let (events, cursor) = app
        .poll("cursor=0&timeout=0&topics=", Some(&old.kim.token))
        .await;
    let seen: Vec<(i64, String, Value)> = events
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["type"].as_str().unwrap().into(),
                e["data"].clone(),
            )
        })
        .collect();
    let want: Vec<(i64, String, Value)> = old
        .kim_events
        .iter()
        .map(|(id, k, d)| (*id, (*k).to_string(), d.clone()))
        .collect();
    assert_eq!(seen, want);
    assert_eq!(cursor, want.last().unwrap().0);
    let (events, _) = app
        .poll(
            &format!("cursor={}&timeout=0&topics=", want[1].0),
            Some(&old.kim.token),
        )
        .await;
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, want[2..].iter().map(|w| w.0).collect::<Vec<_>>());
    let (events, _) = app
        .poll("cursor=0&timeout=0&topics=", Some(&old.owner.token))
        .await;
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        old.store_events.iter().map(|w| w.0).collect::<Vec<_>>()
    );
    let mut stream = app
        .sse("topics=", Some(&old.kim.token), Some(want[3].0))
        .await;
    let resumed = stream.take(want.len() - 4).await;
    assert_eq!(
        resumed.iter().map(|e| e.id.unwrap()).collect::<Vec<_>>(),
        want[4..].iter().map(|w| w.0).collect::<Vec<_>>()
    );

    // The new release works on the old rows: the store opts in, the old coupon pays,
    // the old order is returned, and new events follow the old ones.
    let r = patch_store(
        &app,
        &old.owner.token,
        old.store,
        &json!({"earn_percent": 10}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let order = bought(
        &app,
        &old.kim,
        old.store,
        old.album,
        1,
        Some(old.active_coupon),
    )
    .await;
    assert_eq!(
        (
            order["discount"].as_i64(),
            order["paid"].as_i64(),
            order["points_earned"].as_i64()
        ),
        (Some(10_000), Some(20_000), Some(2_000))
    );
    assert!(order["id"].as_i64().unwrap() > old.order);
    assert_eq!(
        balance(&app, &old.kim, old.store).await,
        1_300,
        "800 + 2,000 - one coupon"
    );
    let newest = entries(&app, &old.kim, old.store).await;
    assert!(
        newest[3..]
            .iter()
            .all(|e| e["id"].as_i64() > Some(old.entries[2].0))
    );
    assert_eq!(
        newest.len(),
        5,
        "a purchase and its conversion after the old three"
    );
    let back = returned(&app, &old.owner.token, old.order, 2).await;
    assert_eq!(
        (
            &back["points_reversed"],
            &back["coupon_restored"],
            &back["balance"]
        ),
        (&json!(0), &Value::Null, &json!(1_300))
    );
    assert_eq!(back["order"]["status"], "returned");
    assert_eq!(stock(&app, old.store, old.album).await, 9);
    assert_ledger_adds_up(&app, &old.kim, old.store).await;
    let (events, _) = app
        .poll(
            &format!("cursor={cursor}&timeout=0&topics="),
            Some(&old.kim.token),
        )
        .await;
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["id"].as_i64().unwrap() > cursor));
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        types.contains(&"order.placed") && types.contains(&"order.returned"),
        "{types:?}"
    );
    app.stop().await;
}
