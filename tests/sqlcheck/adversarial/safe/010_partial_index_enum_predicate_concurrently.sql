-- expect: allowed
-- why: a concurrent partial index on a constant enum comparison
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_daily_bonus_pending" ON "daily_bonus" ("campaign_id", "bonus_date") WHERE "status" = 'pending'::"bonus_status";
