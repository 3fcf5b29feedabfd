-- expect: forbidden ban-tracking-table-write ban-update
INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES (12, 'abc', 1)
ON CONFLICT (id) DO UPDATE SET hash = excluded.hash;
