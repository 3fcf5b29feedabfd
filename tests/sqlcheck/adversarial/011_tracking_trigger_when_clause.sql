-- expect: forbidden
-- why: the WHEN clause is always true for pgrunbook's insert: the trigger deletes campaign validations
-- pgrunbook: allow review-create-function,ban-delete reviewed by the backend team
CREATE FUNCTION public.drop_stale_validations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.campaign_validations;
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger reviewed
CREATE TRIGGER drop_stale_validations AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW WHEN (NEW.created_at > 0) EXECUTE FUNCTION public.drop_stale_validations();
