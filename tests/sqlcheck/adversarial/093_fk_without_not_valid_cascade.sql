-- expect: review
-- why: validating the foreign key scans proofs while blocking writes, and ON DELETE CASCADE makes later deletes remove proofs
ALTER TABLE "proofs" ADD CONSTRAINT "proofs_user_action_fk2" FOREIGN KEY ("user_action_id") REFERENCES "user_actions" ("id") ON DELETE CASCADE;
