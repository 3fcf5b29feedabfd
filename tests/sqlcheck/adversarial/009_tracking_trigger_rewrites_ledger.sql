-- expect: forbidden
-- why: the trigger pushes the recorded created_at to year 2100: drizzle then skips every later migration
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.monotonic_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := 4102444800000;
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger reviewed
CREATE TRIGGER monotonic_ledger BEFORE INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.monotonic_ledger();
