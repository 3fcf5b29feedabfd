-- expect: review review-add-column-not-null-without-default
ALTER TABLE "users" ADD COLUMN "phone" varchar(32) NOT NULL;
