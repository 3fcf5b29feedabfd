-- expect: forbidden ban-drop
DROP TABLE IF EXISTS "users" CASCADE;
