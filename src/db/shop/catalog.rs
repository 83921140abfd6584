//! Albums and their history. An album's values and its history row are written by
//! the same call ([`insert`], [`update`]), so every change is in the history.

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use crate::db::{Db, Tx};
use crate::shop::NewProduct;
use crate::time::rfc3339;

/// An album as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    pub title: String,
    pub artist: String,
    /// Whole won.
    pub price: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// The values a change of an album replaces: what `previous` holds in its history
/// and in `product.updated`.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ProductValues {
    pub title: String,
    pub artist: String,
    pub price: i64,
}

impl From<&Product> for ProductValues {
    fn from(p: &Product) -> Self {
        Self {
            title: p.title.clone(),
            artist: p.artist.clone(),
            price: p.price,
        }
    }
}

/// One entry of an album's history: its values after a change and before it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProductChange {
    pub title: String,
    pub artist: String,
    pub price: i64,
    /// `None` on the entry that created the album.
    pub previous: Option<ProductValues>,
    pub changed_by: Option<i64>,
    pub changed_at: String,
}

macro_rules! product_columns {
    () => {
        "id, title, artist, price, created_at, updated_at"
    };
}

fn product_from_row(r: &sql::Row) -> anyhow::Result<Product> {
    Ok(Product {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        artist: r.try_get(2)?,
        price: r.try_get(3)?,
        created_at: rfc3339(r.try_get(4)?),
        updated_at: rfc3339(r.try_get(5)?),
    })
}

/// Every album, by id.
pub async fn products(db: &Db) -> anyhow::Result<Vec<Product>> {
    let rows = sql::query(concat!(
        "SELECT ",
        product_columns!(),
        " FROM products ORDER BY id"
    ))
    .fetch_all(db.reader())
    .await
    .context("listing products")?;
    rows.iter().map(product_from_row).collect()
}

/// One album, if it exists.
pub async fn product(db: &Db, id: i64) -> anyhow::Result<Option<Product>> {
    let row = sql::query(concat!(
        "SELECT ",
        product_columns!(),
        " FROM products WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await
    .context("reading a product")?;
    row.as_ref().map(product_from_row).transpose()
}

/// One album as this transaction sees it.
pub async fn product_in(tx: &mut Tx, id: i64) -> anyhow::Result<Option<Product>> {
    let row = sql::query(concat!(
        "SELECT ",
        product_columns!(),
        " FROM products WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await
    .context("reading a product")?;
    row.as_ref().map(product_from_row).transpose()
}

/// An album's changes, oldest first.
pub async fn history(db: &Db, id: i64) -> anyhow::Result<Vec<ProductChange>> {
    let rows = sql::query(
        "SELECT title, artist, price, prev_title, prev_artist, prev_price, changed_by, changed_at
         FROM product_history WHERE product_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await
    .context("reading product history")?;
    rows.iter()
        .map(|r| {
            let prev_title: Option<String> = r.try_get(3)?;
            let prev_artist: Option<String> = r.try_get(4)?;
            let prev_price: Option<i64> = r.try_get(5)?;
            // [`update`] writes the three together; only the creating entry has none.
            let previous = match (prev_title, prev_artist, prev_price) {
                (None, None, None) => None,
                (Some(title), Some(artist), Some(price)) => Some(ProductValues {
                    title,
                    artist,
                    price,
                }),
                _ => anyhow::bail!("a product history row with part of its previous values"),
            };
            Ok(ProductChange {
                title: r.try_get(0)?,
                artist: r.try_get(1)?,
                price: r.try_get(2)?,
                previous,
                changed_by: r.try_get(6)?,
                changed_at: rfc3339(r.try_get(7)?),
            })
        })
        .collect()
}

/// Inserts an album together with the history entry that created it.
pub async fn insert(tx: &mut Tx, new: &NewProduct, by: i64, now: i64) -> anyhow::Result<Product> {
    let id = sql::query(
        "INSERT INTO products (title, artist, price, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&new.title)
    .bind(&new.artist)
    .bind(new.price.get())
    .bind(now)
    .insert_id(tx.conn())
    .await
    .context("inserting a product")?;
    sql::query(
        "INSERT INTO product_history (product_id, title, artist, price, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&new.title)
    .bind(&new.artist)
    .bind(new.price.get())
    .bind(by)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("recording product history")?;
    product_in(tx, id).await?.context("product vanished")
}

/// Writes `after` over the album `before` and keeps `before` in its history, in
/// one call; returns the album as stored.
pub async fn update(
    tx: &mut Tx,
    before: &Product,
    after: &ProductValues,
    by: i64,
    now: i64,
) -> anyhow::Result<Product> {
    sql::query(
        "UPDATE products SET title = $1, artist = $2, price = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&after.title)
    .bind(&after.artist)
    .bind(after.price)
    .bind(now)
    .bind(before.id)
    .execute(tx.conn())
    .await
    .context("updating a product")?;
    sql::query(
        "INSERT INTO product_history
           (product_id, title, artist, price, prev_title, prev_artist, prev_price, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(before.id)
    .bind(&after.title)
    .bind(&after.artist)
    .bind(after.price)
    .bind(&before.title)
    .bind(&before.artist)
    .bind(before.price)
    .bind(by)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("recording product history")?;
    product_in(tx, before.id).await?.context("product vanished")
}

/// Whether the database holds no stores and no products (the demo seeds only then).
pub async fn shop_is_empty(db: &Db) -> anyhow::Result<bool> {
    let row = sql::query("SELECT (SELECT COUNT(*) FROM stores) + (SELECT COUNT(*) FROM products)")
        .fetch_one(db.reader())
        .await
        .context("counting stores and products")?;
    let n: i64 = row.try_get(0)?;
    Ok(n == 0)
}
