-- expect: forbidden
-- why: INSTEAD NOTHING swallows pgrunbook's tracking insert: the ledger never records the migration and drizzle re-runs it
-- pgrunbook: allow review-unclassified because the product owner approved it
CREATE OR REPLACE RULE ignore_dupes AS ON INSERT TO "drizzle"."__drizzle_migrations" DO INSTEAD NOTHING;
