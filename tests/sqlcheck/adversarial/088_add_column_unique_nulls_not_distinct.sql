-- expect: review
-- why: NULLS NOT DISTINCT makes the existing rows' NULLs duplicates: the ADD COLUMN fails on any table with two rows
ALTER TABLE "campaigns" ADD COLUMN "external_ref" text UNIQUE NULLS NOT DISTINCT;
