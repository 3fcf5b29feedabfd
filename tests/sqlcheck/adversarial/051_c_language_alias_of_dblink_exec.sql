-- expect: forbidden
-- why: a LANGUAGE c function bound to dblink's dblink_exec symbol is dblink_exec under another name: it deletes users over a side connection
-- pgrunbook: allow review-create-function remote helper, reviewed
CREATE FUNCTION public.remote_run(text, text) RETURNS text LANGUAGE c STRICT AS '$libdir/dblink', 'dblink_exec';
-- pgrunbook: allow review-select reviewed
SELECT public.remote_run('dbname=' || current_database(), 'DELETE FROM public.users');
