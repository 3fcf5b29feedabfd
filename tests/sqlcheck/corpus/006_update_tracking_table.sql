-- expect: forbidden ban-tracking-table-write ban-update
-- Even drizzle's own tracking table may not be rewritten.
UPDATE drizzle.__drizzle_migrations SET created_at = 0 WHERE id = 3;
