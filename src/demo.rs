//! `pointcast serve --demo`: fills an empty database with stores, real albums with
//! stock, an owner and a few customers, and prints their logins, so a first-time user
//! has something to click, buy and watch: the customers belong to stores and have
//! some history (grants, a coupon, an order, a chat). A database that already holds stores or
//! products is left alone, so a second start does not duplicate anything.

use anyhow::Context;

use crate::auth::{Principal, Role, password};
use crate::db::Db;
use crate::db::shop::catalog::shop_is_empty;
use crate::db::users::NewUser;
use crate::idempotency::IdempotencyKey;
use crate::mileage::grants::Grant;
use crate::mileage::model::Person;
use crate::mileage::{self, Reason, ReasonCode};
use crate::ratelimit::RateLimiter;
use crate::settings::Settings;
use crate::shop::Quantity;
use crate::shop::orders::{OrderRequest, place_order};
use crate::shop::{NewProduct, StockLevel, catalog, stock};
use crate::stores::rules::PolicyFields;
use crate::stores::{NewStore, StorePatch, manage};
use crate::support::conversations;

/// What the demo stores' purchases earn, in percent of what was paid.
const DEMO_EARN_PERCENT: i64 = 5;

/// The demo's one password, printed with the logins: it guards demo data only.
const DEMO_PASSWORD: &str = "demo-pass-1234";

/// (name, address, lat, lon)
const STORES: &[(&str, &str, f64, f64)] = &[
    (
        "Hongdae Records",
        "Seoul, Mapo-gu, Wausan-ro 94",
        37.5563,
        126.9236,
    ),
    (
        "Gangnam Vinyl",
        "Seoul, Gangnam-gu, Teheran-ro 152",
        37.5006,
        127.0365,
    ),
    (
        "Haeundae Sound",
        "Busan, Haeundae-gu, Gunam-ro 24",
        35.1631,
        129.1636,
    ),
];

/// (title, artist, price in won)
const ALBUMS: &[(&str, &str, i64)] = &[
    ("Abbey Road", "The Beatles", 38_000),
    ("Rubber Soul", "The Beatles", 34_000),
    ("The Dark Side of the Moon", "Pink Floyd", 42_000),
    ("Wish You Were Here", "Pink Floyd", 39_000),
    ("Kind of Blue", "Miles Davis", 33_000),
    ("A Love Supreme", "John Coltrane", 31_000),
    ("Blue Train", "John Coltrane", 30_000),
    ("Rumours", "Fleetwood Mac", 36_000),
    ("Thriller", "Michael Jackson", 35_000),
    ("Back in Black", "AC/DC", 34_000),
    ("Led Zeppelin IV", "Led Zeppelin", 37_000),
    ("Nevermind", "Nirvana", 32_000),
    ("OK Computer", "Radiohead", 36_000),
    ("Kid A", "Radiohead", 36_000),
    ("Blue", "Joni Mitchell", 31_000),
    ("Pet Sounds", "The Beach Boys", 33_000),
    ("What's Going On", "Marvin Gaye", 32_000),
    ("Songs in the Key of Life", "Stevie Wonder", 45_000),
    ("Purple Rain", "Prince", 34_000),
    (
        "The Velvet Underground & Nico",
        "The Velvet Underground",
        35_000,
    ),
    ("Born to Run", "Bruce Springsteen", 33_000),
    ("Hotel California", "Eagles", 34_000),
    ("London Calling", "The Clash", 36_000),
    ("Random Access Memories", "Daft Punk", 48_000),
    ("To Pimp a Butterfly", "Kendrick Lamar", 46_000),
    ("Lemonade", "Beyoncé", 44_000),
    ("Back to Black", "Amy Winehouse", 35_000),
    ("Map of the Soul: 7", "BTS", 29_000),
    ("The Album", "BLACKPINK", 28_000),
    ("Palette", "IU", 27_000),
    ("Sobangcha", "Kim Wan-sun", 25_000),
    ("Seo Taiji and Boys", "Seo Taiji and Boys", 30_000),
    ("Jang Beom-june 1", "Busker Busker", 26_000),
    ("Hyukoh 23", "Hyukoh", 29_000),
];

const CUSTOMERS: &[(&str, &str)] = &[
    ("Kim Min-su", "010-1234-5678"),
    ("Lee Ji-eun", "010-2345-6789"),
    ("Park Seo-yeon", "010-3456-7890"),
];

/// Seeds the demo data when `settings.demo` is set (`serve --demo`).
pub async fn seed_if_asked(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    if settings.demo {
        seed(db).await?;
    }
    Ok(())
}

/// Seeds the demo data if the database holds no stores and no products.
pub async fn seed(db: &Db) -> anyhow::Result<()> {
    if !shop_is_empty(db).await? {
        println!("pointcast: demo data not added: the database already has stores or albums");
        return Ok(());
    }
    let hash = password::hash(DEMO_PASSWORD.to_string()).await?;
    let owner = db
        .create_user(
            &NewUser {
                role: Role::Owner,
                login: Some("owner"),
                name: "Demo Owner",
                phone: None,
                password_hash: Some(&hash),
            },
            &[],
        )
        .await
        .context("creating the demo owner (is the login \"owner\" taken?)")?;
    let mut store_ids = Vec::new();
    for (name, address, lat, lon) in STORES {
        let new = NewStore::parse(
            name,
            Some(address),
            Some(*lat),
            Some(*lon),
            Some(owner.id),
            None,
        )
        .map_err(|e| anyhow::anyhow!("demo store {name}: {e}"))?;
        let id = db.create_store(&new).await?.id;
        // Demo stores opt in to earning, so a purchase shows points at once.
        let policy = PolicyFields {
            earn_percent: Some(DEMO_EARN_PERCENT),
            ..PolicyFields::default()
        };
        let patch = StorePatch::parse(None, None, None, None, None, policy)
            .map_err(|e| anyhow::anyhow!("demo store policy: {e}"))?;
        let by = Person {
            id: owner.id,
            name: owner.name.clone(),
        };
        manage::update(db, id, &patch, &by)
            .await
            .map_err(|e| anyhow::anyhow!("demo store policy: {e}"))?;
        store_ids.push(id);
    }
    let mut product_ids = Vec::new();
    for (i, (title, artist, price)) in ALBUMS.iter().enumerate() {
        let new = NewProduct::parse(title, artist, *price)
            .map_err(|e| anyhow::anyhow!("demo album {title}: {e}"))?;
        let product = catalog::create_product(db, &new, owner.id).await?;
        product_ids.push(product.id);
        for (s, store_id) in store_ids.iter().enumerate() {
            // A spread of levels, a few sold out, so low stock shows from the start.
            let qty = ((i * 7 + s * 5) % 13) as i64;
            let level = StockLevel::parse(qty).map_err(|e| anyhow::anyhow!("{e}"))?;
            stock::set_stock(
                db,
                *store_id,
                product.id,
                level,
                "demo opening stock",
                owner.id,
            )
            .await
            .map_err(|e| anyhow::anyhow!("demo stock: {e}"))?;
        }
    }
    let mut members = Vec::new();
    let mut customer_ids = Vec::new();
    for (name, phone) in CUSTOMERS {
        let u = db
            .create_user(
                &NewUser {
                    role: Role::Customer,
                    login: None,
                    name,
                    phone: Some(phone),
                    password_hash: Some(&hash),
                },
                &[],
            )
            .await?;
        members.push((u.member_no.clone().unwrap_or_default(), *name));
        customer_ids.push(Principal::person(u.id, Role::Customer, name.to_string()));
    }
    let owner = Principal::person(owner.id, Role::Owner, owner.name.clone());
    history(db, &owner, &customer_ids, &store_ids, &product_ids).await?;
    println!(
        "pointcast: demo data added: {} stores, {} albums with stock",
        STORES.len(),
        ALBUMS.len()
    );
    println!("  owner of every store  login: owner  password: {DEMO_PASSWORD}");
    println!(
        "  (the admin's login is printed above on the first start; lost it? pointcast admin reset-password)"
    );
    for (member_no, name) in &members {
        println!("  customer {name:<14} login: {member_no}  password: {DEMO_PASSWORD}");
    }
    if let Some((member_no, _)) = members.first() {
        println!("  try: pointcast shop --login {member_no} --password {DEMO_PASSWORD}");
    }
    Ok(())
}

/// Who belongs where in the demo: (customer index, store index).
const MEMBERSHIPS: &[(usize, usize)] = &[(0, 0), (0, 1), (1, 1), (2, 0), (2, 2)];

/// Demo grants: (customer, store, points, reason code, reason). Kim's two grants
/// at Hongdae reach 1,700: 1,500 become a coupon and 200 stay.
const GRANTS: &[(usize, usize, i64, &str, &str)] = &[
    (
        0,
        0,
        500,
        "offline_purchase",
        "bought two LPs at the counter",
    ),
    (0, 0, 1200, "promotion", "opening week double points"),
    (0, 1, 300, "offline_purchase", "bought a CD"),
    (1, 1, 800, "promotion", "birthday month"),
    (2, 2, 400, "compensation", "a scratched sleeve"),
];

/// Some history, so every page has something to show: memberships, grants with
/// reason codes (one converting into a coupon), an order, and a chat with its
/// store's reply. Goes through the same flows as the API.
async fn history(
    db: &Db,
    owner: &Principal,
    customers: &[Principal],
    stores: &[i64],
    products: &[i64],
) -> anyhow::Result<()> {
    let pick = |list: &[i64], i: usize| list.get(i).copied();
    for &(c, s) in MEMBERSHIPS {
        let (Some(who), Some(store)) = (customers.get(c), pick(stores, s)) else {
            continue;
        };
        mileage::members::join(db, store, who.user_id)
            .await
            .map_err(|e| anyhow::anyhow!("demo membership: {e}"))?;
    }
    for (n, &(c, s, points, code, reason)) in GRANTS.iter().enumerate() {
        let (Some(who), Some(store)) = (customers.get(c), pick(stores, s)) else {
            continue;
        };
        let reason = Reason::parse(reason).map_err(|e| anyhow::anyhow!("{e}"))?;
        let key = IdempotencyKey::parse(&format!("demo-grant-{n}")).map_err(anyhow::Error::msg)?;
        let grant = Grant {
            store_id: store,
            user_id: who.user_id,
            points,
            reason: &reason,
            code: ReasonCode::parse(code).map_err(|e| anyhow::anyhow!("{e}"))?,
            by: owner,
            key: &key,
            now: chrono::Utc::now(),
        };
        mileage::grants::grant(db, &grant)
            .await
            .map_err(|e| anyhow::anyhow!("demo grant: {e}"))?;
    }
    // Kim buys an album that Hongdae has in stock (the second album: 7 copies); at
    // 5% it earns 1,700 points, which convert again.
    if let (Some(kim), Some(store), Some(album)) =
        (customers.first(), pick(stores, 0), pick(products, 1))
    {
        let key = IdempotencyKey::parse("demo-order-1").map_err(anyhow::Error::msg)?;
        let order = OrderRequest {
            store_id: store,
            product_id: album,
            quantity: Quantity::parse(1).map_err(|e| anyhow::anyhow!("{e}"))?,
            coupon_id: None,
            now: crate::time::now_millis(),
        };
        place_order(db, kim, &key, order)
            .await
            .map_err(|e| anyhow::anyhow!("demo order: {e}"))?;
        let limiter = RateLimiter::new(10, std::time::Duration::from_secs(1));
        let opened = conversations::open(
            db,
            &limiter,
            kim,
            Some(store),
            "Do you have Abbey Road on vinyl? I could come on Saturday.",
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo chat: {e}"))?;
        conversations::write(
            db,
            &limiter,
            owner,
            opened.conversation.id,
            "It is sold out right now; more copies arrive on Friday. Shall we keep one for you?",
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo chat: {e}"))?;
    }
    Ok(())
}
