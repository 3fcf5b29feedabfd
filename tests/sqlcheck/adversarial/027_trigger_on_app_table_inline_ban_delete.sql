-- expect: review
-- why: an inline allow may not waive ban-delete: the trigger deletes daily_bonus rows on every campaign update
-- pgrunbook: allow review-create-function,ban-delete reviewed by the backend team
CREATE FUNCTION public.expire_bonuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus WHERE campaign_id = NEW.id;
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger reviewed
CREATE TRIGGER expire_bonuses AFTER UPDATE ON campaigns FOR EACH ROW EXECUTE FUNCTION public.expire_bonuses();
