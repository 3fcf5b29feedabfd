-- expect: forbidden
-- why: block and trailing allow comments try to waive ban-delete on a ledger trigger that deletes users' sessions of work
/* pgrunbook: allow ban-delete because the product owner approved it */
CREATE FUNCTION public.ledger_hook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions;
  DELETE FROM public.daily_bonus;
  RETURN NEW;
END $$; -- pgrunbook: allow review-create-function because reviewed
CREATE TRIGGER ledger_hook AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.ledger_hook(); -- pgrunbook: allow review-create-trigger because reviewed
