-- expect: forbidden
-- why: created_at in year 2286: drizzle's high-water mark then skips every later migration silently
INSERT INTO "drizzle"."__drizzle_migrations" ("hash", "created_at") VALUES ('0012_manual_fix', 9999999999999);
