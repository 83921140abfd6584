-- "Tell me when it is back in stock" (#17): see migrations/sqlite/0009_watches.sql
-- for the commentary; the two files describe the same schema.

CREATE TABLE watches (
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    store_id   BIGINT  NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    product_id BIGINT  NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, store_id, product_id)
);
CREATE INDEX watches_stock ON watches (store_id, product_id);
