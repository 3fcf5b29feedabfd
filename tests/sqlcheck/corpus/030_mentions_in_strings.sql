-- expect: allowed
INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
VALUES ('drop table users; delete from users; -- truncate', 1718000000000);
