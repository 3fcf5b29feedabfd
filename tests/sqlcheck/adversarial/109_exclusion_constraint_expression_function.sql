-- expect: forbidden
-- why: building the exclusion constraint's index evaluates its expression for every user; the function empties daily_bonus
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.excl_gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION public.canonical_email(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.excl_gc();
  RETURN lower(e);
END $$;
-- pgrunbook: allow review-add-constraint,review-add-constraint-validating reviewed by the DBA
ALTER TABLE "users" ADD CONSTRAINT "users_canonical_email_excl" EXCLUDE USING btree ((public.canonical_email(email)) WITH =);
