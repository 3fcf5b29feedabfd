-- expect: review review-rename
ALTER TABLE "users" RENAME COLUMN "first_name" TO "given_name";
ALTER TABLE user_actions RENAME TO user_action_log;
ALTER INDEX idx_users_role RENAME TO idx_users_role_v2;
