-- Staff controls: stores get a time zone (what "today" means for them) and a daily
-- cap on what an owner may grant; grants name a reason code; the grants an owner
-- made at a store on one local day are counted in one row, so concurrent grants
-- queue on it; and every staff action that moves money or stock is kept in an
-- append-only audit trail.

ALTER TABLE stores ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE stores ADD COLUMN daily_grant_cap BIGINT NOT NULL DEFAULT 50000
    CHECK (daily_grant_cap >= 0);

ALTER TABLE mileage_entries ADD COLUMN reason_code TEXT;

CREATE TABLE grant_days (
    actor_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    store_id INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    day      TEXT    NOT NULL,
    granted  BIGINT  NOT NULL,
    PRIMARY KEY (actor_id, store_id, day)
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT  NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    store_id    INTEGER,
    target_type TEXT,
    target_id   INTEGER,
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_store ON audit (store_id, id);
CREATE INDEX audit_actor ON audit (actor_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
