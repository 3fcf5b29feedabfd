-- expect: forbidden
-- why: a constant EXECUTE inserts a ledger row dated year 3000 from inside a DO block
DO $$
BEGIN
  EXECUTE 'INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (''x'', 32503680000000)';
END $$;
