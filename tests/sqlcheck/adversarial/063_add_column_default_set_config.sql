-- expect: review
-- why: the default's set_config runs during ADD COLUMN and turns statement_timeout off for the rest of the session
ALTER TABLE "users" ADD COLUMN "tz" text DEFAULT set_config('statement_timeout', '0', false);
