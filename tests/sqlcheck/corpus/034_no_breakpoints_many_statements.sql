-- expect: forbidden ban-delete info:non-concurrent-index
CREATE INDEX IF NOT EXISTS idx_a ON users (a); CREATE INDEX IF NOT EXISTS idx_b ON users (b);
ALTER TABLE users ADD COLUMN IF NOT EXISTS c integer;
ALTER TABLE users ADD COLUMN IF NOT EXISTS d text DEFAULT 'x' NOT NULL;
ANALYZE users; ANALYZE campaigns;
CREATE INDEX IF NOT EXISTS idx_c ON campaigns (status);
DELETE FROM campaigns WHERE status = 'draft';
ANALYZE campaigns;
