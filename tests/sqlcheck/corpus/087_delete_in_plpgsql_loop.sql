-- expect: forbidden ban-delete
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT id FROM users WHERE NOT is_active LOOP
    IF r.id > 10 THEN
      DELETE FROM user_actions WHERE user_id = r.id;
    END IF;
  END LOOP;
END $$;
