-- expect: forbidden
-- why: a schema-qualified, upper-case call to pg_terminate_backend disconnects the application
SELECT "pg_catalog"."pg_terminate_backend"(a.pid, 1000) FROM pg_catalog.pg_stat_activity a WHERE a.application_name = 'nest';
