-- expect: forbidden
-- why: the CHECK is verified against every existing row by the ADD COLUMN; its function deletes user actions
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.valid_points(p integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions WHERE completed;
  RETURN p >= 0;
END $$;
ALTER TABLE "actions" ADD COLUMN "bonus_points" integer DEFAULT 0 NOT NULL CHECK (public.valid_points(bonus_points));
