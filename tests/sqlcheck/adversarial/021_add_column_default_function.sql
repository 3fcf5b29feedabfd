-- expect: forbidden
-- why: the column default is evaluated by the ALTER itself; the function deletes every proof while doing so
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.default_score() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.proofs;
  RETURN 0;
END $$;
-- pgrunbook: allow review-add-column-volatile-default reviewed by the backend team
ALTER TABLE "users" ADD COLUMN "score" integer DEFAULT public.default_score();
