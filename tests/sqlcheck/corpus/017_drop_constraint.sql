-- expect: forbidden ban-drop
ALTER TABLE "users" DROP CONSTRAINT "users_email_unique";
