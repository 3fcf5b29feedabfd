-- expect: forbidden
-- why: the custom operator's function is called for every row by the partial index build and deletes user actions
-- pgrunbook: allow review-create-function reviewed by the backend team
CREATE FUNCTION public.fuzzy_gc() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions WHERE proof_url IS NULL OR proof_url IS NOT NULL;
END $$;
-- pgrunbook: allow review-create-function reviewed by the backend team
CREATE FUNCTION public.fuzzy_eq(a text, b text) RETURNS boolean IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.fuzzy_gc();
  RETURN lower(a) = lower(b);
END $$;
-- pgrunbook: allow review-unclassified fuzzy-match operator, approved by ops
CREATE OPERATOR public.=~= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.fuzzy_eq);
CREATE INDEX IF NOT EXISTS idx_users_fuzzy ON users (email) WHERE email::text OPERATOR(public.=~=) 'x';
