-- expect: forbidden
-- why: a helper function records a fake far-future ledger row when called below
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.mark_done() RETURNS void LANGUAGE sql AS $$
  INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('done', 4102444800000);
$$;
-- pgrunbook: allow review-select reviewed in PR 88
SELECT public.mark_done();
