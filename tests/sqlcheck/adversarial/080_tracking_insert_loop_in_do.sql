-- expect: forbidden
-- why: a plpgsql loop writes a hundred thousand ledger rows
DO $$
BEGIN
  FOR i IN 1..100000 LOOP
    INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('loop' || i, i);
  END LOOP;
END $$;
