-- expect: review
-- why: the CHECK is verified on every row under ACCESS EXCLUSIVE, and a default of 0 fails it: the migration aborts
ALTER TABLE "actions" ADD COLUMN "weight" integer DEFAULT 0 NOT NULL CHECK ("weight" > 0);
