-- expect: forbidden
-- why: an internal alias of pg_advisory_unlock_all, evaluated by ADD COLUMN's default, releases pgrunbook's run lock mid-run
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.release_all() RETURNS void LANGUAGE internal AS 'pg_advisory_unlock_all';
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION public.flag_default() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN PERFORM public.release_all(); RETURN false; END $$;
-- pgrunbook: allow review-add-column-volatile-default reviewed by the DBA
ALTER TABLE "campaigns" ADD COLUMN "archived" boolean DEFAULT public.flag_default();
