-- expect: forbidden ban-drop
DROP INDEX CONCURRENTLY IF EXISTS idx_users_role;
