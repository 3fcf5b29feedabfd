-- expect: review
-- why: the ADD COLUMN's ACCESS EXCLUSIVE lock on users is held while a SQL-free DO block loops until the statement timeout
ALTER TABLE "users" ADD COLUMN "nickname" text;
DO $$
BEGIN
  LOOP
  END LOOP;
END $$;
