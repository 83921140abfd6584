//! Facts that never stop being true once true, remembered once read, so that
//! the checks every staff request makes (is this store there, is this owner
//! staff of it) cost a read only the first time.
//!
//! Why it is safe: no statement deletes a store or a staff row (nor a user, whose
//! deletion would cascade to the staff row), on this instance or any other, so a
//! fact seen once holds for good on every instance; only what was found true is
//! remembered, and a miss reads the database. A change that ever deletes stores,
//! staff or users must forget the facts here (and tell the other instances, as
//! the session cache does).
//!
//! Why it matters: on SQLite each of these reads was a round trip to a read
//! connection's sqlx thread per grant; a profile of grants put that thread at
//! 7 % of the server's samples (docs/performance.md, "sixth part").

use dashmap::DashSet;

/// Stores known to exist and (store, user) pairs known to be staff.
#[derive(Default)]
pub struct Known {
    stores: DashSet<i64>,
    staff: DashSet<(i64, i64)>,
}

impl Known {
    pub fn store(&self, store_id: i64) -> bool {
        self.stores.contains(&store_id)
    }

    pub fn remember_store(&self, store_id: i64) {
        self.stores.insert(store_id);
    }

    pub fn staff(&self, store_id: i64, user_id: i64) -> bool {
        self.staff.contains(&(store_id, user_id))
    }

    pub fn remember_staff(&self, store_id: i64, user_id: i64) {
        self.staff.insert((store_id, user_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_what_it_was_told() {
        let k = Known::default();
        assert!(!k.store(1));
        k.remember_store(1);
        assert!(k.store(1) && !k.store(2));
        k.remember_staff(1, 7);
        assert!(k.staff(1, 7) && !k.staff(7, 1) && !k.staff(2, 7));
    }
}
