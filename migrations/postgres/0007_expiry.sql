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
-- job. Entries gain the kind `expiry`.

ALTER TABLE stores
    ADD COLUMN points_valid_days BIGINT NOT NULL DEFAULT 365 CHECK (points_valid_days BETWEEN 0 AND 3650),
    ADD COLUMN coupon_valid_days BIGINT NOT NULL DEFAULT 90 CHECK (coupon_valid_days BETWEEN 0 AND 3650);

ALTER TABLE coupons ADD COLUMN expires_at BIGINT, ADD COLUMN expired_at BIGINT;
CREATE INDEX coupons_expiry ON coupons (expires_at)
    WHERE expires_at IS NOT NULL AND expired_at IS NULL;

ALTER TABLE mileage_entries DROP CONSTRAINT mileage_entries_kind_check;
ALTER TABLE mileage_entries
    ADD CONSTRAINT mileage_entries_kind_check CHECK (kind IN ('grant', 'conversion', 'adjustment',
                                                              'purchase', 'reversal', 'revocation',
                                                              'expiry')),
    ADD COLUMN expires_at BIGINT,
    ADD COLUMN remaining BIGINT NOT NULL DEFAULT 0 CHECK (remaining >= 0),
    ADD COLUMN expiring_notified_at BIGINT;
UPDATE mileage_entries e SET remaining = GREATEST(0, LEAST(e.points,
        COALESCE((SELECT b.balance FROM mileage_balances b
                  WHERE b.store_id = e.store_id AND b.user_id = e.user_id), 0)
        - COALESCE((SELECT SUM(n.points) FROM mileage_entries n
                    WHERE n.store_id = e.store_id AND n.user_id = e.user_id
                      AND n.kind IN ('grant', 'purchase') AND n.points > 0
                      AND n.id > e.id), 0)))
    WHERE e.kind IN ('grant', 'purchase') AND e.points > 0;
CREATE INDEX mileage_entries_lots ON mileage_entries (store_id, user_id, expires_at) WHERE remaining > 0;
CREATE INDEX mileage_entries_expiry ON mileage_entries (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
