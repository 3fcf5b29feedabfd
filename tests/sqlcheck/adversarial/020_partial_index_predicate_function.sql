-- expect: forbidden
-- why: the partial-index predicate function runs for every row during the build and deletes user actions
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.purge_actions_of(uid integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions WHERE user_id = uid;
  RETURN true;
END $$;
-- pgrunbook: allow review-create-function reviewed by the backend team
CREATE FUNCTION public.is_live(uid integer) RETURNS boolean IMMUTABLE LANGUAGE sql AS $$ SELECT public.purge_actions_of(uid) $$;
CREATE INDEX IF NOT EXISTS idx_users_live ON users (id) WHERE public.is_live(id);
