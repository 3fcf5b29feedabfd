-- expect: review review-alter-type review-set-default
-- The new value used in the same transaction: PostgreSQL refuses it ("unsafe use of new value"), the file fails.
ALTER TYPE "public"."user_role" ADD VALUE IF NOT EXISTS 'admin';
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "role" SET DEFAULT 'admin';
