-- expect: forbidden
-- why: computes pgrunbook's own run-lock key and releases it in the middle of the run
DO $$
BEGIN
  PERFORM pg_catalog.pg_advisory_unlock(hashtext('pgrunbook' || current_database())::bigint);
END $$;
