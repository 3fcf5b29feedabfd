-- expect: forbidden
-- why: a prepared statement hides the ledger insert; EXECUTE supplies a far-future created_at
-- pgrunbook: allow review-unclassified because the product owner approved it
PREPARE rec(text, bigint) AS INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ($1, $2);
EXECUTE rec('manual', 8000000000000);
