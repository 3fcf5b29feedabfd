-- expect: error 5:33
CREATE INDEX IF NOT EXISTS "idx_a" ON "users" ("a");
--> statement-breakpoint
ALTER TABLE "users"
  ADD COLUMN "b" integer DEFAULT;
