-- expect: review unused-allow-comment info:non-concurrent-index
-- pgrunbook: allow review-create-table there is no table here
CREATE INDEX IF NOT EXISTS idx_users_email ON users (email);
