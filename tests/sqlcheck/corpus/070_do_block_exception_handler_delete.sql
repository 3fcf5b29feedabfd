-- expect: forbidden ban-delete review-create-type
DO $$
BEGIN
  CREATE TYPE "public"."status" AS ENUM('on', 'off');
EXCEPTION
  WHEN duplicate_object THEN NULL;
  WHEN others THEN DELETE FROM users;
END $$;
