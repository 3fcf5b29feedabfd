-- expect: forbidden
-- why: terminates every other session of the database one by one, the application's pool included
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() LOOP
    PERFORM pg_terminate_backend(r.pid);
  END LOOP;
END $$;
