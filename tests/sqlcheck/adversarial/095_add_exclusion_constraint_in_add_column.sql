-- expect: review
-- why: an exclusion constraint over the new column fails on existing rows that all share its default
ALTER TABLE "campaigns" ADD COLUMN "slot" int4range DEFAULT int4range(1, 10), ADD CONSTRAINT campaigns_slot_excl EXCLUDE USING gist ("slot" WITH &&);
