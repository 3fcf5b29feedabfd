-- expect: forbidden
-- why: the custom aggregate's state function runs once per user row and deletes every proof
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.acc_points(s integer, v integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.proofs;
  RETURN s + v;
END $$;
-- pgrunbook: allow review-unclassified reviewed by the DBA
CREATE AGGREGATE public.total_points(integer) (SFUNC = public.acc_points, STYPE = integer, INITCOND = '0');
-- pgrunbook: allow review-select,review-function-call reviewed in PR 88
SELECT public.total_points(id) FROM users;
