-- expect: review review-create-table
-- The FK is added to a table created just above (empty): no validating scan to fear.
CREATE TABLE "proofs" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer NOT NULL);
--> statement-breakpoint
ALTER TABLE "proofs" ADD CONSTRAINT "proofs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_proofs_user_id" ON "proofs" ("user_id");
