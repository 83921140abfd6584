//! Joining and leaving a store. Only customers are members; leaving keeps the
//! balance and coupons, so a customer who comes back finds them.

use super::MileageError;
use crate::db::{Db, members};
use crate::time::now_millis;

/// Enrols a customer at a store. Returns false if they were a member already.
pub async fn join(db: &Db, store_id: i64, user_id: i64) -> Result<bool, MileageError> {
    match db.user_role(user_id).await?.as_deref() {
        Some("customer") => {}
        Some(_) => return Err(MileageError::NotACustomer),
        None => return Err(MileageError::NoSuchUser),
    }
    if !db.store_exists(store_id).await? {
        return Err(MileageError::NoSuchStore);
    }
    let mut tx = db.begin().await?;
    let added = members::join(&mut tx, store_id, user_id, now_millis()).await?;
    tx.commit().await?;
    Ok(added)
}

/// Ends a membership; [`MileageError::NotAMember`] if there was none.
pub async fn leave(db: &Db, store_id: i64, user_id: i64) -> Result<(), MileageError> {
    let mut tx = db.begin().await?;
    if !members::leave(&mut tx, store_id, user_id).await? {
        return Err(MileageError::NotAMember);
    }
    tx.commit().await?;
    Ok(())
}
