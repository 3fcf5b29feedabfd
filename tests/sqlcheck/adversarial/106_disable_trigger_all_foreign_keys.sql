-- expect: review
-- why: DISABLE TRIGGER ALL switches off the foreign keys' own triggers: orphans and skipped cascades from then on
ALTER TABLE "user_actions" DISABLE TRIGGER ALL;
