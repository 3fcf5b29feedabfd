-- expect: forbidden
-- why: the volatile default below rewrites users, firing table_rewrite, whose function deletes the proofs
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.rewrite_monitor() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'DELETE FROM public.proofs';
END $$;
-- pgrunbook: allow review-unclassified approved by ops
CREATE EVENT TRIGGER rewrite_monitor ON table_rewrite EXECUTE FUNCTION public.rewrite_monitor();
--> statement-breakpoint
-- pgrunbook: allow review-add-column-volatile-default reviewed in PR 88
ALTER TABLE "users" ADD COLUMN "public_id" uuid DEFAULT gen_random_uuid();
