-- expect: allowed info:non-concurrent-index
-- DROP TABLE users; DELETE FROM users; TRUNCATE users; UPDATE users SET x = 1;
/* INSERT INTO users VALUES (1); DROP SCHEMA public CASCADE; */
CREATE INDEX IF NOT EXISTS idx_users_email ON users (email); -- not a DROP INDEX
/* nested /* DELETE FROM users */ still a comment */
ANALYZE users;
