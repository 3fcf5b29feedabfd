-- expect: review review-set-not-null
ALTER TABLE "users" ALTER COLUMN "manager_id" SET NOT NULL;
