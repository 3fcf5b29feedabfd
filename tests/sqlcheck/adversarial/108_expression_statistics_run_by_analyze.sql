-- expect: forbidden
-- why: ANALYZE computes the extended statistics' expression on its sample rows; the expression's function empties daily_bonus
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.stats_gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION public.domain_of(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.stats_gc();
  RETURN split_part(e, '@', 2);
END $$;
-- pgrunbook: allow review-unclassified because the product owner approved it
CREATE STATISTICS IF NOT EXISTS users_email_domain_stats ON (public.domain_of(email)) FROM users;
ANALYZE users;
