-- expect: error 4:3
CREATE INDEX IF NOT EXISTS idx_a ON users (a);
ANALYZE users;
  CREAT INDEX idx_b ON users (b);
