-- expect: allowed info:non-concurrent-index
ALTER TABLE "drop" ADD COLUMN "delete" text;
CREATE INDEX IF NOT EXISTS "truncate users" ON "drop" ("delete");
ANALYZE "drop";
