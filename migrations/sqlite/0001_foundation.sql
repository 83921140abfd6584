-- Foundation: users and sessions, stores and who works at them, memberships, the
-- event log, idempotency keys. Timestamps are Unix milliseconds (BIGINT) on both
-- backends so that one SQL text serves both.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'owner', 'admin')),
    member_no     TEXT    UNIQUE,          -- customers log in with it
    login         TEXT    UNIQUE,          -- staff log in with it
    name          TEXT    NOT NULL,
    phone         TEXT,
    password_hash TEXT,
    lat           REAL,
    lon           REAL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,        -- sha256 of the opaque token; the token itself is never stored
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE stores (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    address          TEXT    NOT NULL DEFAULT '',
    lat              REAL,
    lon              REAL,
    owner_id         INTEGER REFERENCES users (id),
    joined_at        BIGINT  NOT NULL,
    coupon_threshold BIGINT  NOT NULL DEFAULT 1500 CHECK (coupon_threshold > 0),
    coupon_shape     TEXT    NOT NULL DEFAULT 'rounded',
    coupon_color     TEXT    NOT NULL DEFAULT '#d9480f',
    coupon_label     TEXT    NOT NULL DEFAULT 'COUPON'
);

CREATE TABLE store_staff (
    store_id INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX store_staff_user ON store_staff (user_id);

CREATE TABLE memberships (
    store_id  INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at BIGINT  NOT NULL,
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused, even after pruning
    channel TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    at      BIGINT  NOT NULL,
    data    TEXT    NOT NULL                     -- the envelope's `data`, JSON text
);
CREATE INDEX events_channel_id ON events (channel, id);
CREATE INDEX events_at ON events (at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE idempotency (
    scope        TEXT    NOT NULL,   -- which operation ("grant", "order")
    principal_id INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER,            -- NULL while the first request is in flight
    body         TEXT,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (scope, principal_id, key)
);
