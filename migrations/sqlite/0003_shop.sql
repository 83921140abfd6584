-- Record shop: albums, their price and rename history, stock per (store, product)
-- with every change and its reason, and orders. "Stock never negative" is enforced
-- twice: by the conditional UPDATEs in src/store/shop.rs and by the CHECK below.

CREATE TABLE products (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT    NOT NULL,
    artist     TEXT    NOT NULL,
    price      BIGINT  NOT NULL CHECK (price >= 0),   -- whole won
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- One row per create, rename or price change: the values after it, and before it.
CREATE TABLE product_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id   INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    title        TEXT    NOT NULL,
    artist       TEXT    NOT NULL,
    price        BIGINT  NOT NULL,
    prev_title   TEXT,
    prev_artist  TEXT,
    prev_price   BIGINT,
    changed_by   INTEGER REFERENCES users (id),
    changed_at   BIGINT  NOT NULL
);
CREATE INDEX product_history_product ON product_history (product_id, id);

CREATE TABLE stock (
    store_id   INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity   BIGINT  NOT NULL CHECK (quantity >= 0),
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (store_id, product_id)
);
CREATE INDEX stock_product ON stock (product_id);

CREATE TABLE orders (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    store_id   INTEGER NOT NULL REFERENCES stores (id),
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity   BIGINT  NOT NULL CHECK (quantity > 0),
    unit_price BIGINT  NOT NULL,
    total      BIGINT  NOT NULL,
    day        TEXT    NOT NULL,           -- UTC date of created_at, YYYY-MM-DD: sales group by it
    created_at BIGINT  NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, id);
CREATE INDEX orders_store_day ON orders (store_id, day, product_id);
CREATE INDEX orders_store_created ON orders (store_id, created_at);

-- Every stock change: a count, an adjustment or an order.
CREATE TABLE stock_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id   INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    delta      BIGINT  NOT NULL,
    quantity   BIGINT  NOT NULL,           -- after the change
    reason     TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    order_id   INTEGER REFERENCES orders (id),
    at         BIGINT  NOT NULL
);
CREATE INDEX stock_changes_store_product ON stock_changes (store_id, product_id, id);
