-- expect: forbidden ban-drop
ALTER TABLE users
  ADD COLUMN IF NOT EXISTS nickname text,
  DROP COLUMN legacy_flag;
