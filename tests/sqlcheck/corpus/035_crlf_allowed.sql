-- expect: allowed info:non-concurrent-index
CREATE INDEX IF NOT EXISTS idx_users_role ON users (role);
--> statement-breakpoint
ANALYZE users;
