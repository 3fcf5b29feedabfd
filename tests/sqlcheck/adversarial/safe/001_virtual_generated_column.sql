-- expect: allowed
-- why: a VIRTUAL generated column is computed on read from built-ins: no rewrite, no code of ours runs
ALTER TABLE "users" ADD COLUMN "full_name" text GENERATED ALWAYS AS ("first_name" || ' ' || "last_name") VIRTUAL;
