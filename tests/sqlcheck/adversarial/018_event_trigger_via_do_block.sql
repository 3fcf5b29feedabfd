-- expect: forbidden
-- why: a DO block creates an event trigger through constant EXECUTEs; it deletes campaigns' challenges on the next DDL
-- pgrunbook: allow review-create-function,review-unclassified reviewed by the DBA
DO $$
BEGIN
  EXECUTE 'CREATE FUNCTION public.evt() RETURNS event_trigger LANGUAGE plpgsql AS $b$ BEGIN DELETE FROM public.challenges; END $b$';
  EXECUTE 'CREATE EVENT TRIGGER evt ON ddl_command_end EXECUTE FUNCTION public.evt()';
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS idx_challenges_date ON challenges (date);
