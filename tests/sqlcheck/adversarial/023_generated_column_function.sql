-- expect: forbidden
-- why: a STORED generated column computes its expression for every existing row; the function deletes bonuses
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.bonus_sweep(uid integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus WHERE user_id = uid;
  RETURN uid;
END $$;
-- pgrunbook: allow review-create-function reviewed by the backend team
CREATE FUNCTION public.display_id(uid integer) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  RETURN 'U' || public.bonus_sweep(uid)::text;
END $$;
-- pgrunbook: allow review-add-column-volatile-default because the product owner approved it
ALTER TABLE "users" ADD COLUMN "display_id" text GENERATED ALWAYS AS (public.display_id(id)) STORED;
