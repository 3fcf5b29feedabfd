-- expect: forbidden
-- why: shifts every recorded created_at by a century inside a harmless-looking SELECT
WITH moved AS (
  UPDATE "drizzle"."__drizzle_migrations" SET created_at = created_at + 3155760000000 RETURNING id
)
SELECT count(*) FROM moved;
