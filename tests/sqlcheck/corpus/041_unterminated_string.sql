-- expect: error 3:50
ANALYZE users;
INSERT INTO drizzle.__drizzle_migrations VALUES ('oops, 1);
