-- expect: forbidden
-- why: the ledger trigger is created by a constant EXECUTE inside a DO block; it deletes user_actions on the tracking insert
-- pgrunbook: allow review-create-function,review-create-trigger reviewed
DO $do$
BEGIN
  EXECUTE $q$CREATE FUNCTION public.wipe_actions() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN DELETE FROM public.user_actions; RETURN NEW; END $f$$q$;
  EXECUTE 'CREATE TRIGGER wipe_actions AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.wipe_actions()';
END
$do$;
