-- expect: allowed
-- why: constant and stable defaults of built-in types only
ALTER TABLE "campaigns" ADD COLUMN "settings" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "challenges" ADD COLUMN "bonus_rate" numeric(10, 2) DEFAULT 0.50::numeric(10, 2) NOT NULL;--> statement-breakpoint
ALTER TABLE "user_actions" ADD COLUMN "recorded_at" timestamp with time zone DEFAULT CURRENT_TIMESTAMP;--> statement-breakpoint
ALTER TABLE "proofs" ADD COLUMN "checked_on" date DEFAULT (transaction_timestamp() AT TIME ZONE 'utc')::date;
