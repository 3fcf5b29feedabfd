-- expect: forbidden
-- why: the ledger trigger's function runs a nested DO block that deletes every campaign bonus config
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.nested_hook() RETURNS trigger LANGUAGE plpgsql AS $outer$
BEGIN
  DO $inner$ BEGIN DELETE FROM public.campaign_bonus_config; END $inner$;
  RETURN NEW;
END
$outer$;
-- pgrunbook: allow review-create-trigger reviewed by the backend team
CREATE TRIGGER nested_hook AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.nested_hook();
