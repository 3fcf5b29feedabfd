-- expect: forbidden
-- why: a type change whose USING adds a century to every recorded created_at: an UPDATE of the ledger in disguise
-- pgrunbook: allow review-alter-column-type bigint to numeric, reviewed
ALTER TABLE drizzle.__drizzle_migrations ALTER COLUMN created_at TYPE numeric USING created_at + 3155760000000;
