-- expect: forbidden
-- why: with standard_conforming_strings = off the literal ends at \' and the rest runs as a DELETE of user_actions
INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('h\'', 1) ; DELETE FROM user_actions; --', 1718000000000);
