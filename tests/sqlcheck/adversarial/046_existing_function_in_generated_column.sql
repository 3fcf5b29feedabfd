-- expect: review
-- why: existing function (statically review): the generated column evaluates public.user_slug(id) for every existing user
ALTER TABLE "users" ADD COLUMN "slug" text GENERATED ALWAYS AS (public.user_slug(id)) STORED;
