-- expect: forbidden ban-tracking-table-write
INSERT INTO "drizzle"."__drizzle_migrations" ("hash", "created_at") VALUES ('9f2c4e1a', 1718000000000);
