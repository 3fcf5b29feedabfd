-- expect: review
-- why: existing function (statically review): ADD COLUMN evaluates compute_loyalty_tier(), created by an earlier migration that is not pending
ALTER TABLE "users" ADD COLUMN "loyalty_tier" text DEFAULT compute_loyalty_tier() NOT NULL;
