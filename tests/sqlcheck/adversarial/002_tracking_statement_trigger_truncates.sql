-- expect: forbidden
-- why: a BEFORE INSERT statement trigger on the ledger truncates daily_bonus when pgrunbook records this migration
-- pgrunbook: allow review-create-function,ban-truncate approved by ops
CREATE FUNCTION "public"."reset_bonus_cache"() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  TRUNCATE TABLE "public"."daily_bonus" CASCADE;
  RETURN NULL;
END
$body$;
-- pgrunbook: allow review-create-trigger reviewed by the backend team
CREATE TRIGGER "reset_bonus_cache" BEFORE INSERT ON "drizzle"."__drizzle_migrations"
  FOR EACH STATEMENT EXECUTE PROCEDURE "public"."reset_bonus_cache"();
