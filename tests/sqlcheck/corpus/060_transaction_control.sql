-- expect: review review-transaction-control info:non-concurrent-index
BEGIN;
CREATE INDEX IF NOT EXISTS idx_users_email ON users (email);
COMMIT;
