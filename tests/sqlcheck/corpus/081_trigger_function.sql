-- expect: review ban-update review-create-function review-create-trigger
CREATE FUNCTION touch_manager() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE users SET updated_at = now() WHERE id = NEW.manager_id;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_touch_manager AFTER INSERT ON user_actions
  FOR EACH ROW EXECUTE FUNCTION touch_manager();
