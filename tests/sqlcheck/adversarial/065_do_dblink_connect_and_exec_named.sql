-- expect: forbidden
-- why: a named dblink connection runs a TRUNCATE of proofs on the same database, invisible to the migration's transaction
DO $$
BEGIN
  PERFORM dblink_connect('side', 'dbname=' || current_database());
  PERFORM dblink_exec('side', 'TRUNCATE public.proofs CASCADE');
  PERFORM dblink_disconnect('side');
END $$;
