-- expect: forbidden ban-dynamic-sql ban-drop
DO $$
DECLARE t text := 'users';
BEGIN
  EXECUTE 'DROP TABLE ' || quote_ident(t);
END $$;
