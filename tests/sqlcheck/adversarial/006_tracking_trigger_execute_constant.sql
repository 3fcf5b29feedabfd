-- expect: forbidden
-- why: the ledger trigger EXECUTEs a constant DELETE of daily_bonus when this migration is recorded
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.bonus_refresh() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE 'DELETE FROM public.daily_bonus';
  RETURN NEW;
END
$fn$;
-- pgrunbook: allow review-create-trigger reviewed by the backend team
CREATE TRIGGER bonus_refresh AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW EXECUTE FUNCTION public.bonus_refresh();
