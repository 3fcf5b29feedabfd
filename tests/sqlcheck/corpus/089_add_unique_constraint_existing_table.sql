-- expect: review review-add-constraint review-add-constraint-validating
ALTER TABLE "users" ADD CONSTRAINT "users_phone_unique" UNIQUE("phone");
