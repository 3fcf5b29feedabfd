-- expect: forbidden
-- why: the USING expression's function runs once per row of daily_bonus and EXECUTEs a DELETE of users' actions
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.widen(v numeric) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE $x$DELETE FROM public.user_actions$x$;
  RETURN v;
END $$;
-- pgrunbook: allow review-alter-column-type approved by ops
ALTER TABLE "daily_bonus" ALTER COLUMN "amount" TYPE numeric(12, 2) USING public.widen("amount");
