-- expect: review review-alter-column-type
ALTER TABLE "users" ALTER COLUMN "email" SET DATA TYPE text;
