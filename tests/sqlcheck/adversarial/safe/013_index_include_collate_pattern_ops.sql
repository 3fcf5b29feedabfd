-- expect: allowed
-- why: COLLATE, an operator class and INCLUDE columns: still a plain index build
CREATE INDEX IF NOT EXISTS "idx_users_last_name_pattern" ON "users" ("last_name" COLLATE "C" text_pattern_ops) INCLUDE ("first_name");
