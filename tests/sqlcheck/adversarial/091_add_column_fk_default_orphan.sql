-- expect: review
-- why: the default points at a user id that does not exist: the validating scan fails (or holds locks for its length)
ALTER TABLE "proofs" ADD COLUMN "uploaded_by" integer DEFAULT -1 REFERENCES users (id);
