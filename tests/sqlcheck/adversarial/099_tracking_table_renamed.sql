-- expect: forbidden
-- why: renames pgrunbook's ledger away: drizzle creates an empty one and replays 0000 onwards on the live schema
-- pgrunbook: allow review-rename archiving the old ledger, reviewed
ALTER TABLE drizzle.__drizzle_migrations RENAME TO __drizzle_migrations_archive;
