-- expect: allowed
ALTER TABLE users ADD COLUMN IF NOT EXISTS note text
  DEFAULT 'drop table users; delete from users; -- truncate';
