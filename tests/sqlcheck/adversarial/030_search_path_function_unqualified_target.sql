-- expect: forbidden
-- why: the function pins its own search_path, so an unqualified "campaigns" inside the ledger trigger resolves to the app table and is deleted
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION drizzle.archive_campaigns() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
BEGIN
  DELETE FROM campaigns WHERE status = 'completed' OR status <> 'completed';
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger reviewed
CREATE TRIGGER archive_campaigns AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION drizzle.archive_campaigns();
