-- Loyalty: mileage balances and their append-only ledger, coupons, redemptions,
-- and the history of each store's coupon design. A balance always equals the sum
-- of its entries' points; src/store/mileage.rs is the one place that writes both.

CREATE TABLE mileage_balances (
    store_id   INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    balance    BIGINT  NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX mileage_balances_user ON mileage_balances (user_id);

CREATE TABLE mileage_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id      INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('grant', 'conversion', 'adjustment')),
    points        BIGINT  NOT NULL,   -- signed: a conversion takes points away
    balance_after BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    actor_id      INTEGER REFERENCES users (id),
    created_at    BIGINT  NOT NULL
);
CREATE INDEX mileage_entries_user ON mileage_entries (user_id, id);
CREATE INDEX mileage_entries_member ON mileage_entries (store_id, user_id, id);

CREATE TABLE coupons (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id    INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entry_id    INTEGER NOT NULL REFERENCES mileage_entries (id),  -- the conversion that issued it
    shape       TEXT    NOT NULL,     -- the store's design when it was issued
    color       TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    issued_at   BIGINT  NOT NULL,
    redeemed_at BIGINT,               -- NULL while active
    redeemed_by INTEGER REFERENCES users (id)
);
CREATE INDEX coupons_user ON coupons (user_id, id);

CREATE TABLE redemptions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    coupon_id   INTEGER NOT NULL UNIQUE REFERENCES coupons (id),
    store_id    INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id),     -- the customer
    redeemed_by INTEGER NOT NULL REFERENCES users (id),     -- the staff member
    redeemed_at BIGINT  NOT NULL
);
CREATE INDEX redemptions_store ON redemptions (store_id, id);

CREATE TABLE coupon_design_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id   INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    shape      TEXT    NOT NULL,
    color      TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    changed_by INTEGER NOT NULL REFERENCES users (id),
    changed_at BIGINT  NOT NULL
);
CREATE INDEX coupon_design_history_store ON coupon_design_history (store_id, id);
