-- expect: allowed
-- why: now() AT TIME ZONE 'utc' is stable: evaluated once, no rewrite
ALTER TABLE "users" ADD COLUMN "seen_at" timestamp DEFAULT (now() AT TIME ZONE 'utc') NOT NULL;
