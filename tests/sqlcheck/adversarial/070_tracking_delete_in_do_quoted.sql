-- expect: forbidden
-- why: forgets the last applied migrations: drizzle re-runs them on the next deploy
DO $$
BEGIN
  DELETE FROM "drizzle"."__drizzle_migrations" WHERE "created_at" > 1750000000000;
END $$;
