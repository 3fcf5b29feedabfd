-- expect: forbidden
-- why: CREATE OR REPLACE TRIGGER silently swaps a reviewed ledger trigger for one that truncates proofs
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE OR REPLACE FUNCTION drizzle.on_migration_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE public.proofs;
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger reviewed
CREATE OR REPLACE TRIGGER on_migration_recorded AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW EXECUTE FUNCTION drizzle.on_migration_recorded();
