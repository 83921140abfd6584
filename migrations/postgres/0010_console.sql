-- The console and the customer's history (issue #18). See the SQLite twin for why.

ALTER TABLE mileage_entries ADD COLUMN source_id BIGINT;

UPDATE mileage_entries
SET source_id = CAST(substr(reason, 24, length(reason) - 31) AS BIGINT)
WHERE kind = 'expiry' AND reason LIKE 'points earned in entry % expired';

UPDATE mileage_entries e
SET source_id = (SELECT MAX(n.id) FROM mileage_entries n
                 WHERE n.store_id = e.store_id
                   AND n.user_id = e.user_id
                   AND n.id < e.id
                   AND n.kind IN ('grant', 'purchase'))
WHERE e.kind = 'conversion';

CREATE INDEX mileage_entries_source ON mileage_entries (source_id) WHERE source_id IS NOT NULL;

ALTER TABLE inquiries ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'in_progress', 'closed'));
ALTER TABLE inquiries ADD COLUMN status_changed_at BIGINT;
ALTER TABLE inquiries ADD COLUMN status_changed_by BIGINT;
