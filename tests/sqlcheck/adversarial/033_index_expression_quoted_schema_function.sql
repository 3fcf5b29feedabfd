-- expect: forbidden
-- why: a quoted, mixed-case function in the index expression truncates proofs through a nested volatile helper
-- pgrunbook: allow review-create-schema reviewed
CREATE SCHEMA "Search";
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION "Search"."Reset"() RETURNS void LANGUAGE sql AS $$ TRUNCATE public.proofs $$;
-- pgrunbook: allow review-create-function reviewed by the DBA
CREATE FUNCTION "Search"."Fold"(t text) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "Search"."Reset"();
  RETURN upper(t);
END $$;
CREATE INDEX IF NOT EXISTS "idx_users_fold_last_name" ON "public"."users" USING btree ("Search"."Fold"("last_name"));
