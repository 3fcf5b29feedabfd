-- expect: forbidden
-- why: ADD COLUMN of the domain fills every existing row with the domain's DEFAULT, whose function deletes every proof
-- pgrunbook: allow review-create-function scoring helper, reviewed
CREATE FUNCTION public.initial_score() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.proofs;
  RETURN 1;
END $$;
-- pgrunbook: allow review-create-type score domain, reviewed
CREATE DOMAIN public.score AS integer DEFAULT public.initial_score();
ALTER TABLE "users" ADD COLUMN "score" public.score;
