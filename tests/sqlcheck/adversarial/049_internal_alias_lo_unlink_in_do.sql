-- expect: forbidden
-- why: a LANGUAGE internal alias of lo_unlink (be_lo_unlink) removes every large object, called from a DO block
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.tidy_blob(oid) RETURNS integer LANGUAGE internal STRICT AS 'be_lo_unlink';
DO $$
DECLARE o oid;
BEGIN
  FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP
    PERFORM public.tidy_blob(o);
  END LOOP;
END $$;
