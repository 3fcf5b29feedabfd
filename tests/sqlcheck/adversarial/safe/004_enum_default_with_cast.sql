-- expect: allowed
-- why: a constant enum label cast to the existing type: a metadata-only default
ALTER TABLE "users" ADD COLUMN "previous_role" "public"."user_role" DEFAULT 'fbo'::"public"."user_role" NOT NULL;
