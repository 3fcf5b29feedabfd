-- expect: forbidden
-- why: a row with NULL created_at sorts first under ORDER BY created_at DESC: drizzle reads NULL as its high-water mark
INSERT INTO drizzle.__drizzle_migrations (hash) VALUES ('0012_no_timestamp');
