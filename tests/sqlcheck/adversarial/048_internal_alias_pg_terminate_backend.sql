-- expect: forbidden
-- why: a LANGUAGE internal alias of pg_terminate_backend kills every other session, the application's included
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.end_session(integer, bigint DEFAULT 0) RETURNS boolean LANGUAGE internal STRICT VOLATILE AS 'pg_terminate_backend';
-- pgrunbook: allow review-select reviewed
SELECT public.end_session(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();
