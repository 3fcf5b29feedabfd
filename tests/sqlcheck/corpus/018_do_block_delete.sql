-- expect: forbidden ban-delete
DO $$
BEGIN
  DELETE FROM users WHERE email LIKE '%@test.invalid';
END
$$;
