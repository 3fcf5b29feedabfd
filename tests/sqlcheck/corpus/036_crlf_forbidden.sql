-- expect: forbidden ban-drop
-- windows editor
ALTER TABLE users
  DROP COLUMN legacy;
