-- One shop, one loyalty program: purchases earn mileage, coupons pay at checkout,
-- returns undo both. Every existing row keeps its meaning: stores earn nothing until
-- they opt in (earn_percent 0), old orders paid their total, old coupons were worth
-- their store's threshold.
--
-- The ledger's tables are rebuilt (SQLite cannot drop a CHECK): a balance may now go
-- below zero (a return whose points were already spent as a coupon), and entries
-- gain the kinds `purchase`, `reversal` and `revocation` and the order they name.
-- The runner applies this file with foreign keys off and checks them before commit.

ALTER TABLE stores ADD COLUMN earn_percent INTEGER NOT NULL DEFAULT 0
    CHECK (earn_percent BETWEEN 0 AND 20);
ALTER TABLE stores ADD COLUMN coupon_value BIGINT NOT NULL DEFAULT 10000
    CHECK (coupon_value BETWEEN 0 AND 100000000);

ALTER TABLE orders ADD COLUMN discount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN paid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN coupon_id INTEGER REFERENCES coupons (id);
ALTER TABLE orders ADD COLUMN points_earned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN returned_quantity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'placed';
UPDATE orders SET paid = total;
CREATE INDEX orders_store ON orders (store_id, id);
CREATE UNIQUE INDEX orders_coupon ON orders (coupon_id) WHERE coupon_id IS NOT NULL AND status <> 'returned';

-- A coupon's worth in points (what its conversion took), so a revocation gives
-- back exactly that; and when it was revoked.
ALTER TABLE coupons ADD COLUMN points BIGINT;
UPDATE coupons SET points = (SELECT coupon_threshold FROM stores WHERE stores.id = coupons.store_id);
ALTER TABLE coupons ADD COLUMN revoked_at BIGINT;

CREATE TABLE mileage_balances_new (
    store_id   INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    balance    BIGINT  NOT NULL DEFAULT 0,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (store_id, user_id)
);
INSERT INTO mileage_balances_new (store_id, user_id, balance, updated_at)
    SELECT store_id, user_id, balance, updated_at FROM mileage_balances;
DROP TABLE mileage_balances;
ALTER TABLE mileage_balances_new RENAME TO mileage_balances;
CREATE INDEX mileage_balances_user ON mileage_balances (user_id);

CREATE TABLE mileage_entries_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id      INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('grant', 'conversion', 'adjustment',
                                                   'purchase', 'reversal', 'revocation')),
    points        BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    actor_id      INTEGER REFERENCES users (id),
    created_at    BIGINT  NOT NULL,
    order_id      INTEGER REFERENCES orders (id)
);
INSERT INTO mileage_entries_new (id, store_id, user_id, kind, points, balance_after, reason, actor_id, created_at)
    SELECT id, store_id, user_id, kind, points, balance_after, reason, actor_id, created_at
    FROM mileage_entries;
DROP TABLE mileage_entries;
ALTER TABLE mileage_entries_new RENAME TO mileage_entries;
CREATE INDEX mileage_entries_user ON mileage_entries (user_id, id);
CREATE INDEX mileage_entries_member ON mileage_entries (store_id, user_id, id);
CREATE INDEX mileage_entries_order ON mileage_entries (order_id) WHERE order_id IS NOT NULL;
