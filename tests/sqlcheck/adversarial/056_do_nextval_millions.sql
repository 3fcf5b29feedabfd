-- expect: review
-- why: burns five million ids of users_id_seq: ids jump and a serial nearing its limit overflows
DO $$
BEGIN
  PERFORM nextval('public.users_id_seq') FROM generate_series(1, 5000000);
END $$;
