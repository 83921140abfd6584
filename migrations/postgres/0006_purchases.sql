-- One shop, one loyalty program: purchases earn mileage, coupons pay at checkout,
-- returns undo both. Every existing row keeps its meaning: stores earn nothing until
-- they opt in (earn_percent 0), old orders paid their total, old coupons were worth
-- their store's threshold. A balance may now go below zero (a return whose points
-- were already spent as a coupon); entries gain the kinds `purchase`, `reversal`
-- and `revocation` and the order they name.

ALTER TABLE stores
    ADD COLUMN earn_percent BIGINT NOT NULL DEFAULT 0 CHECK (earn_percent BETWEEN 0 AND 20),
    ADD COLUMN coupon_value BIGINT NOT NULL DEFAULT 10000 CHECK (coupon_value BETWEEN 0 AND 100000000);

ALTER TABLE orders
    ADD COLUMN discount BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN paid BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN coupon_id BIGINT REFERENCES coupons (id),
    ADD COLUMN points_earned BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN returned_quantity BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN status TEXT NOT NULL DEFAULT 'placed';
UPDATE orders SET paid = total;
CREATE INDEX orders_store ON orders (store_id, id);
CREATE UNIQUE INDEX orders_coupon ON orders (coupon_id) WHERE coupon_id IS NOT NULL AND status <> 'returned';

ALTER TABLE coupons ADD COLUMN points BIGINT, ADD COLUMN revoked_at BIGINT;
UPDATE coupons SET points = (SELECT coupon_threshold FROM stores WHERE stores.id = coupons.store_id);

ALTER TABLE mileage_balances DROP CONSTRAINT mileage_balances_balance_check;
ALTER TABLE mileage_entries DROP CONSTRAINT mileage_entries_kind_check;
ALTER TABLE mileage_entries
    ADD CONSTRAINT mileage_entries_kind_check CHECK (kind IN ('grant', 'conversion', 'adjustment',
                                                              'purchase', 'reversal', 'revocation')),
    ADD COLUMN order_id BIGINT REFERENCES orders (id);
CREATE INDEX mileage_entries_order ON mileage_entries (order_id) WHERE order_id IS NOT NULL;
