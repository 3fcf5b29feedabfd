-- expect: forbidden
-- why: created_at computed as now() plus a hundred years: not a journal literal, and in the far future
INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
VALUES ('0012', (extract(epoch FROM now() + interval '100 years') * 1000)::bigint);
