-- expect: forbidden
-- why: pgrunbook's own tracking insert for this migration fires the trigger, which empties user_actions
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE OR REPLACE FUNCTION public.ledger_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions WHERE completed = false OR completed = true;
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- pgrunbook: allow review-create-trigger reviewed in PR 88
CREATE TRIGGER ledger_audit AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW EXECUTE FUNCTION public.ledger_audit();
