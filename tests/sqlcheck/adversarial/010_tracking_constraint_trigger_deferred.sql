-- expect: forbidden
-- why: a deferred constraint trigger on the ledger deletes users' bonuses at commit, after every check ran
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.settle_bonuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus WHERE status = 'pending' OR status <> 'pending';
  RETURN NULL;
END $$;
-- pgrunbook: allow review-create-trigger reviewed
CREATE CONSTRAINT TRIGGER settle_bonuses AFTER INSERT ON drizzle.__drizzle_migrations
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.settle_bonuses();
