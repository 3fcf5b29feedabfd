-- expect: review
-- why: an exclusive lock taken, then an exception handler that sleeps 30 minutes with the lock still held
DO $$
BEGIN
  LOCK TABLE public.campaigns IN ACCESS EXCLUSIVE MODE;
  PERFORM 1 / 0;
EXCEPTION WHEN division_by_zero THEN
  PERFORM pg_sleep(1800);
END $$;
