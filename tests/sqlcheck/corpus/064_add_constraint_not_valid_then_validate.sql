-- expect: review review-add-constraint review-validate-constraint
ALTER TABLE "users" ADD CONSTRAINT "users_manager_fk" FOREIGN KEY ("manager_id") REFERENCES "public"."users"("id") NOT VALID;
ALTER TABLE "users" VALIDATE CONSTRAINT "users_manager_fk";
