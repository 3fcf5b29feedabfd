-- expect: forbidden ban-dynamic-sql ban-truncate
DO $$
DECLARE t text := 'users';
BEGIN
  EXECUTE format('TRUNCATE %I', t);
END $$;
