-- expect: forbidden
-- why: dblink_exec opens a second connection to this same database and deletes users outside pgrunbook's transaction
DO $$
BEGIN
  PERFORM dblink_exec('dbname=' || current_database(), 'DELETE FROM public.users WHERE role = ''fbo''');
END $$;
