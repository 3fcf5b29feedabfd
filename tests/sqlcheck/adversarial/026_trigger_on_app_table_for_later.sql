-- expect: review
-- why: created for later: every insert into users by the app will delete that user's manager's user_actions
CREATE FUNCTION public.on_new_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions WHERE user_id = NEW.manager_id;
  RETURN NEW;
END $$;
CREATE TRIGGER on_new_user AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION public.on_new_user();
