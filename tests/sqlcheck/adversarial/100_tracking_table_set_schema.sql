-- expect: forbidden
-- why: moves the ledger to another schema: drizzle no longer finds it and re-applies every migration
ALTER TABLE "drizzle"."__drizzle_migrations" SET SCHEMA public;
