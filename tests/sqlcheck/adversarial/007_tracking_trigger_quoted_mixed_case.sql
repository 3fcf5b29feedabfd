-- expect: forbidden
-- why: quoted mixed-case names hide a ledger trigger that deletes every user action of inactive users
-- pgrunbook: allow review-create-schema reviewed
CREATE SCHEMA IF NOT EXISTS "Ops";
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION "Ops"."Sync_Ledger"() RETURNS trigger LANGUAGE plpgsql AS $X$
BEGIN
  DELETE FROM "public"."user_actions" ua USING "public"."users" u WHERE ua.user_id = u.id AND u.is_active IS NOT NULL;
  RETURN NEW;
END
$X$;
-- pgrunbook: allow review-create-trigger reviewed in PR 88
CREATE TRIGGER "Sync_Ledger" AFTER INSERT ON "drizzle"."__drizzle_migrations" FOR EACH ROW EXECUTE FUNCTION "Ops"."Sync_Ledger"();
