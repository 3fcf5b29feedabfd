-- expect: forbidden
-- why: two million fake ledger rows: reconciliation sees two million unknown migrations and the table bloats
INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
SELECT md5(i::text), 1700000000000 + i FROM generate_series(1, 2000000) AS g(i);
