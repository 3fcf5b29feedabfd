-- expect: review
-- why: holds a SHARE lock on users for an hour with no statement timeout: every write of the application blocks
DO $$
BEGIN
  PERFORM set_config('statement_timeout', '0', true);
  LOCK TABLE public.users IN SHARE MODE;
  PERFORM pg_sleep(3600);
END $$;
