-- expect: review
-- why: every campaign now cascades from user 1: the app deleting that user later deletes every campaign and its challenges
ALTER TABLE "campaigns" ADD COLUMN "owner_id" integer DEFAULT 1 NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE;
