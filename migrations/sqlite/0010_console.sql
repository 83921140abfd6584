-- The console and the customer's history (issue #18).
--
-- A ledger entry may name the entry it came from (`source_id`): a conversion the
-- credit that reached the threshold, an expiry the lot (earning entry) that
-- expired. So a history can say "+1,200 points: 1,500 became a coupon" and which
-- points expired, without guessing from neighbours. Existing rows are filled in:
-- an expiry from its reason text ("points earned in entry N expired"), a
-- conversion from the member's latest earning entry before it (a conversion is
-- always written right after the credit that caused it, in one transaction).
--
-- Inquiries get a status the admins move: new, in_progress, closed.

ALTER TABLE mileage_entries ADD COLUMN source_id BIGINT;

UPDATE mileage_entries
SET source_id = CAST(substr(reason, 24, length(reason) - 31) AS INTEGER)
WHERE kind = 'expiry' AND reason LIKE 'points earned in entry % expired';

UPDATE mileage_entries
SET source_id = (SELECT MAX(n.id) FROM mileage_entries n
                 WHERE n.store_id = mileage_entries.store_id
                   AND n.user_id = mileage_entries.user_id
                   AND n.id < mileage_entries.id
                   AND n.kind IN ('grant', 'purchase'))
WHERE kind = 'conversion';

CREATE INDEX mileage_entries_source ON mileage_entries (source_id) WHERE source_id IS NOT NULL;

ALTER TABLE inquiries ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'in_progress', 'closed'));
ALTER TABLE inquiries ADD COLUMN status_changed_at BIGINT;
ALTER TABLE inquiries ADD COLUMN status_changed_by BIGINT;
