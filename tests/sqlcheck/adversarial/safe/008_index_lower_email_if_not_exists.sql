-- expect: allowed
-- why: lower() is an immutable built-in: the index build runs no code of ours
CREATE INDEX IF NOT EXISTS "idx_users_lower_email" ON "users" (lower("email"));
