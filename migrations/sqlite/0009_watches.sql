-- "Tell me when it is back in stock" (#17): a customer watches a sold-out album at
-- one store. The watch ends (its row is deleted) in the same transaction that
-- brings that store's stock of the album from 0 back above 0 and tells them
-- (`stock.back`); see src/shop/watches.rs.

CREATE TABLE watches (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    store_id   INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, store_id, product_id)
);
-- A restock finds an album's watchers at a store.
CREATE INDEX watches_stock ON watches (store_id, product_id);
