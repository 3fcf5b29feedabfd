-- expect: allowed
-- why: a guard that only reads the catalog and raises: it changes nothing
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename = 'users') THEN
    RAISE EXCEPTION 'users table missing: wrong database?';
  END IF;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_users_last_login_at" ON "users" ("last_login_at");
