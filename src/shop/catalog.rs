//! The catalog: albums are created and changed by admins; every change is kept in
//! the album's history and pushed as `product.updated` on `products`.

use super::events::{ProductChangeKind, ProductUpdated};
use super::{NewProduct, ProductUpdate, ShopError};
use crate::db::Db;
use crate::db::shop::catalog::{self as rows, Product, ProductChange, ProductValues};
use crate::events::channel;
use crate::time::now_millis;

/// Every album, by id.
pub async fn products(db: &Db) -> Result<Vec<Product>, ShopError> {
    Ok(rows::products(db).await?)
}

/// One album; [`ShopError::NoSuchProduct`] if there is none.
pub async fn product(db: &Db, id: i64) -> Result<Product, ShopError> {
    rows::product(db, id).await?.ok_or(ShopError::NoSuchProduct)
}

/// An album's changes, oldest first.
pub async fn product_history(db: &Db, id: i64) -> Result<Vec<ProductChange>, ShopError> {
    product(db, id).await?;
    Ok(rows::history(db, id).await?)
}

/// Creates an album, records it in its history and announces it on `products`.
pub async fn create_product(db: &Db, new: &NewProduct, by: i64) -> Result<Product, ShopError> {
    let mut tx = db.begin().await?;
    let product = rows::insert(&mut tx, new, by, now_millis()).await?;
    let created = ProductUpdated {
        change: ProductChangeKind::Created,
        product: &product,
        previous: None,
        by,
    };
    tx.emit(channel::PRODUCTS, &created).await?;
    tx.commit().await?;
    Ok(product)
}

/// Renames or reprices an album; a real change is kept in its history and pushed
/// as `product.updated`. An update that changes nothing answers the album as is.
pub async fn update_product(
    db: &Db,
    id: i64,
    update: &ProductUpdate,
    by: i64,
) -> Result<Product, ShopError> {
    let mut tx = db.begin().await?;
    let before = rows::product_in(&mut tx, id)
        .await?
        .ok_or(ShopError::NoSuchProduct)?;
    let after = ProductValues {
        title: update.title.clone().unwrap_or_else(|| before.title.clone()),
        artist: update
            .artist
            .clone()
            .unwrap_or_else(|| before.artist.clone()),
        price: update.price.map_or(before.price, |p| p.get()),
    };
    let previous = ProductValues::from(&before);
    if after == previous {
        return Ok(before);
    }
    let product = rows::update(&mut tx, &before, &after, by, now_millis()).await?;
    let updated = ProductUpdated {
        change: ProductChangeKind::Updated,
        product: &product,
        previous: Some(previous),
        by,
    };
    tx.emit(channel::PRODUCTS, &updated).await?;
    tx.commit().await?;
    Ok(product)
}
