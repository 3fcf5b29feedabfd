-- expect: allowed
-- why: the schema-qualified built-in is the same stable now()
ALTER TABLE "campaigns" ADD COLUMN "reviewed_at" timestamp with time zone DEFAULT pg_catalog.now();
