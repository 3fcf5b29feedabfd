-- expect: review
-- why: a brand-new empty table is safe, but creating tables is review by the runbook's policy
CREATE TABLE IF NOT EXISTS "bonus_audit" (
  "id" serial PRIMARY KEY NOT NULL,
  "bonus_id" integer NOT NULL,
  "note" text DEFAULT '' NOT NULL,
  "created_at" timestamp DEFAULT (now() AT TIME ZONE 'utc') NOT NULL
);
