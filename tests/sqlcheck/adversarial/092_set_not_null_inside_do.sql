-- expect: review
-- why: SET NOT NULL scans users under ACCESS EXCLUSIVE and fails on the existing NULL phones, hidden in a DO block
DO $$
BEGIN
  ALTER TABLE public.users ALTER COLUMN phone SET NOT NULL;
END $$;
