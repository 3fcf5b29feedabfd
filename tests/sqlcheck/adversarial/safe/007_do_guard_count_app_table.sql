-- expect: allowed
-- why: a guard counting rows of an app table before proceeding: read only
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public.users WHERE email IS NULL;
  IF n > 0 THEN
    RAISE EXCEPTION '% users without email', n;
  END IF;
END $$;
