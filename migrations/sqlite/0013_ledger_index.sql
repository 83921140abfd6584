-- The ledger's (store_id, user_id, id) index goes. No statement reads through it:
-- a member's history reads by (user_id, id) (`mileage_entries_user`), their lots
-- by `mileage_entries_lots`, single entries by id; it served only a cascade from
-- deleting a store, which nothing does. Yet every ledger entry wrote it, and on a
-- grant its leaf is one more page each commit writes to the WAL
-- (docs/performance.md, issue #20's eighteenth part). Deleting a store would
-- need an index on `store_id` first.

DROP INDEX IF EXISTS mileage_entries_member;
