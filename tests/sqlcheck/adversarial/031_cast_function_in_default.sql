-- expect: forbidden
-- why: the custom cast's function runs when the default is evaluated by ADD COLUMN and deletes every challenge
-- pgrunbook: allow review-create-type reviewed by the DBA
CREATE TYPE public.label AS (v text);
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION public.text_to_label(t text) RETURNS public.label LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.challenges;
  RETURN ROW(t)::public.label;
END $$;
-- pgrunbook: allow review-unclassified because the product owner approved it
CREATE CAST (text AS public.label) WITH FUNCTION public.text_to_label(text);
ALTER TABLE "campaigns" ADD COLUMN "label" public.label DEFAULT 'new'::text::public.label;
