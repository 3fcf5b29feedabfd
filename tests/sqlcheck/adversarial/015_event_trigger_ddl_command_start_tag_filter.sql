-- expect: forbidden
-- why: filtered on CREATE INDEX, the event trigger truncates user_actions before each of the 43 index builds
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.before_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE public.user_actions CASCADE;
END $$;
-- pgrunbook: allow review-unclassified approved by ops
CREATE EVENT TRIGGER before_index ON ddl_command_start WHEN TAG IN ('CREATE INDEX') EXECUTE PROCEDURE public.before_index();
