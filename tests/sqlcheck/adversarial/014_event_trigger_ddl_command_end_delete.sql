-- expect: forbidden
-- why: the event trigger fires on the CREATE INDEX just below (and on every later DDL) and deletes every daily bonus
-- pgrunbook: allow review-create-function,ban-delete reviewed by the backend team
CREATE FUNCTION public.ddl_audit() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus;
END $$;
-- pgrunbook: allow review-unclassified approved by ops
CREATE EVENT TRIGGER ddl_audit ON ddl_command_end EXECUTE FUNCTION public.ddl_audit();
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_daily_bonus_status" ON "daily_bonus" ("status");
