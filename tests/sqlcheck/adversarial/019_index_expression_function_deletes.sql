-- expect: forbidden
-- why: building the index calls the "immutable" wrapper once per row; it calls a volatile helper that empties daily_bonus
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.bonus_gc() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus;
END $$;
-- pgrunbook: allow review-create-function reviewed
CREATE FUNCTION public.norm_email(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.bonus_gc();
  RETURN lower(e);
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS idx_users_norm_email ON users (public.norm_email(email));
