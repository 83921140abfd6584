-- Points and coupons that expire (issue #17).
--
-- Stores gain an expiry policy: points_valid_days (default 365) and
-- coupon_valid_days (default 90); 0 means never.
--
-- Each earning entry (`grant`, `purchase`) is a lot: `expires_at` (NULL = never)
-- and `remaining`, the part of it not yet spent. Debits consume lots
-- oldest-expiry-first; the `mileage-expiry` job writes `expiry` entries for what is
-- left of expired lots; `expiring_notified_at` marks the one warning per lot.
--
-- Existing rows: old points never expire (expires_at NULL). Each member's current
-- positive balance is assigned to their newest earning entries, each taking at
-- most its own points (what was spent is taken as spent from the oldest first,
-- as FIFO would have). Entries that are not earnings have remaining 0.
--
-- Coupons gain `expires_at` (old coupons: NULL, never) and `expired_at`, set by the
-- job. The ledger's table is rebuilt (SQLite cannot change a CHECK) to allow the
-- kind `expiry`; the runner applies this file with foreign keys off.

ALTER TABLE stores ADD COLUMN points_valid_days BIGINT NOT NULL DEFAULT 365
    CHECK (points_valid_days BETWEEN 0 AND 3650);
ALTER TABLE stores ADD COLUMN coupon_valid_days BIGINT NOT NULL DEFAULT 90
    CHECK (coupon_valid_days BETWEEN 0 AND 3650);

ALTER TABLE coupons ADD COLUMN expires_at BIGINT;
ALTER TABLE coupons ADD COLUMN expired_at BIGINT;
CREATE INDEX coupons_expiry ON coupons (expires_at)
    WHERE expires_at IS NOT NULL AND expired_at IS NULL;

CREATE TABLE mileage_entries_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id      INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('grant', 'conversion', 'adjustment',
                                                   'purchase', 'reversal', 'revocation',
                                                   'expiry')),
    points        BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    actor_id      INTEGER REFERENCES users (id),
    created_at    BIGINT  NOT NULL,
    order_id      INTEGER REFERENCES orders (id),
    expires_at    BIGINT,
    remaining     BIGINT  NOT NULL DEFAULT 0 CHECK (remaining >= 0),
    expiring_notified_at BIGINT
);
INSERT INTO mileage_entries_new (id, store_id, user_id, kind, points, balance_after, reason, actor_id, created_at, order_id, remaining)
    SELECT e.id, e.store_id, e.user_id, e.kind, e.points, e.balance_after, e.reason, e.actor_id, e.created_at, e.order_id,
           CASE WHEN e.kind IN ('grant', 'purchase') AND e.points > 0 THEN
               MAX(0, MIN(e.points,
                   COALESCE((SELECT b.balance FROM mileage_balances b
                             WHERE b.store_id = e.store_id AND b.user_id = e.user_id), 0)
                   - COALESCE((SELECT SUM(n.points) FROM mileage_entries n
                               WHERE n.store_id = e.store_id AND n.user_id = e.user_id
                                 AND n.kind IN ('grant', 'purchase') AND n.points > 0
                                 AND n.id > e.id), 0)))
           ELSE 0 END
    FROM mileage_entries e;
DROP TABLE mileage_entries;
ALTER TABLE mileage_entries_new RENAME TO mileage_entries;
CREATE INDEX mileage_entries_user ON mileage_entries (user_id, id);
CREATE INDEX mileage_entries_member ON mileage_entries (store_id, user_id, id);
CREATE INDEX mileage_entries_order ON mileage_entries (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX mileage_entries_lots ON mileage_entries (store_id, user_id, expires_at) WHERE remaining > 0;
CREATE INDEX mileage_entries_expiry ON mileage_entries (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
