-- expect: allowed info:non-concurrent-index
-- The seed's 0011 style: indexes and statistics only.
CREATE INDEX IF NOT EXISTS idx_users_role ON users(role);
CREATE INDEX IF NOT EXISTS idx_users_manager_id ON users(manager_id);
CREATE INDEX IF NOT EXISTS idx_users_role_created_at ON users(role, created_at);
ANALYZE users;
