-- expect: review review-create-type
DO $$ BEGIN
 CREATE TYPE "public"."campaign_status" AS ENUM('draft', 'active', 'archived');
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
