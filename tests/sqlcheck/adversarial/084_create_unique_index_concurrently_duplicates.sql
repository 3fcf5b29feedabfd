-- expect: review
-- why: fails on duplicate lower(email) values and leaves an INVALID index that still slows every write
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "idx_users_email_ci" ON "users" (lower("email"));
