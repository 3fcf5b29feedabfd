-- expect: forbidden
-- why: renames the drizzle schema: the ledger disappears for drizzle and pgrunbook, every migration looks pending
-- pgrunbook: allow review-rename schema naming convention, reviewed
ALTER SCHEMA drizzle RENAME TO drizzle_history;
