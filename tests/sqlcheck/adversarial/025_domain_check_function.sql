-- expect: forbidden
-- why: adding a column of the domain checks its default against the domain CHECK on every row; the check deletes proofs
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.amount_ok(v numeric) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.proofs WHERE size > 0;
  RETURN v >= 0;
END $$;
-- pgrunbook: allow review-create-type approved by ops
CREATE DOMAIN public.money_amount AS numeric(10, 2) CHECK (public.amount_ok(VALUE));
ALTER TABLE "daily_bonus" ADD COLUMN "net_amount" public.money_amount DEFAULT 0;
