-- expect: forbidden ban-tracking-table-write ban-update
WITH u AS (UPDATE users SET role = 'manager' WHERE id = 1 RETURNING id)
INSERT INTO drizzle.__drizzle_migrations (hash, created_at) SELECT 'h', 1 FROM u;
