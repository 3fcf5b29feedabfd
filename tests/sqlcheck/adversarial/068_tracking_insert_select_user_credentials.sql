-- expect: forbidden
-- why: copies every user's email and password hash into the ledger, which backups, reports and drizzle tooling expose
INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
SELECT email || ':' || password, 1 FROM users;
