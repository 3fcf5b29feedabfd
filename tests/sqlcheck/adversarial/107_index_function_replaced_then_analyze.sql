-- expect: forbidden
-- why: the index is built with a harmless body, the body is then replaced, and ANALYZE evaluates the index expression: daily_bonus is emptied
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.bonus_gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION public.fold_email(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN RETURN lower(e); END $$;
CREATE INDEX IF NOT EXISTS idx_users_fold_email ON users (public.fold_email(email));
-- pgrunbook: allow review-create-function because the product owner approved it
CREATE OR REPLACE FUNCTION public.fold_email(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.bonus_gc();
  RETURN lower(e);
END $$;
ANALYZE users;
