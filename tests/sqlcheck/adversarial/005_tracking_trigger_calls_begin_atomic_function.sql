-- expect: forbidden
-- why: the ledger trigger calls a BEGIN ATOMIC SQL function that deletes every unvalidated user action
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.purge_unvalidated() RETURNS bigint LANGUAGE sql
BEGIN ATOMIC
  DELETE FROM public.user_actions WHERE validated IS NOT TRUE;
  SELECT count(*) FROM public.user_actions;
END;
-- pgrunbook: allow review-create-function reviewed by the backend team
CREATE FUNCTION public.after_migration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.purge_unvalidated();
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger because the product owner approved it
CREATE TRIGGER after_migration AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW EXECUTE FUNCTION public.after_migration();
