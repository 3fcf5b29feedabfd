-- expect: review
-- why: existing function (statically review): the index build calls public.normalize_email() for every row; its body is in the live catalog only
CREATE INDEX IF NOT EXISTS "idx_users_normalized_email" ON "users" (public.normalize_email("email"));
