-- expect: forbidden
-- why: the index expression's function deletes the campaigns, and ON DELETE CASCADE takes challenges, actions and user_actions with them
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.gc_campaigns() RETURNS integer LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM public.campaigns RETURNING 1) SELECT count(*)::integer FROM gone
$$;
-- pgrunbook: allow review-create-function because the product owner approved it
CREATE FUNCTION public.bucket(d date) RETURNS integer IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  RETURN public.gc_campaigns() + extract(year FROM d)::integer;
END $$;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_campaigns_bucket ON campaigns (public.bucket(start_date));
