-- expect: error 3:3
DO $$ BEGIN
  DELET FROM users;
END $$;
