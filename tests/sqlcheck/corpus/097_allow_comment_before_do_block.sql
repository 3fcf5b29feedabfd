-- expect: allowed excepted:review-add-constraint excepted:review-add-constraint-validating
-- pgrunbook: allow review-add-constraint,review-add-constraint-validating small table (40 rows), reviewed in PR 17
DO $$ BEGIN
 ALTER TABLE "app_versions" ADD CONSTRAINT "app_versions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
