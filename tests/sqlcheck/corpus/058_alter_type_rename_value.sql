-- expect: review review-rename
ALTER TYPE "public"."user_role" RENAME VALUE 'fbo' TO 'field_agent';
