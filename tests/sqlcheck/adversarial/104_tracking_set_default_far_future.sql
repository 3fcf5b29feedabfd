-- expect: review
-- why: a far-future default on the ledger's created_at poisons any tracking insert that omits it
ALTER TABLE drizzle.__drizzle_migrations ALTER COLUMN created_at SET DEFAULT 9999999999999;
