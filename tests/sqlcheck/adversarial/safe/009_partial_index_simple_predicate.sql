-- expect: allowed
-- why: a partial index with a plain boolean predicate
CREATE INDEX IF NOT EXISTS idx_users_active_role ON users (role) WHERE is_active;
