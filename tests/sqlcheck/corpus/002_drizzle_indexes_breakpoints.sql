-- expect: allowed info:non-concurrent-index
CREATE INDEX IF NOT EXISTS "idx_campaigns_status" ON "campaigns" ("status");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_campaigns_status_dates" ON "public"."campaigns" USING btree ("status","start_date","end_date");
--> statement-breakpoint
ANALYZE "campaigns";
