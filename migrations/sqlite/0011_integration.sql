-- Integration: API keys for a shop's other systems (point of sale, web backend),
-- the public topics an admin creates for the publish API, who acted through a key
-- in the ledger and on orders, and an external id that maps an identity
-- provider's `sub` to a user.

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,     -- sha256 of the key; the key is shown once
    scopes       TEXT    NOT NULL,            -- comma-separated: grant,order,announce,publish,read
    store_ids    TEXT    NOT NULL,            -- comma-separated store ids the key may act for
    created_by   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE topics (
    name       TEXT    PRIMARY KEY,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL
);

ALTER TABLE mileage_entries ADD COLUMN api_key_id INTEGER REFERENCES api_keys (id);
ALTER TABLE orders ADD COLUMN api_key_id INTEGER REFERENCES api_keys (id);

ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (external_id);
