-- expect: forbidden
-- why: a STABLE-declared SQL default is still evaluated once by ADD COLUMN: its body deletes app versions
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.current_release() RETURNS text LANGUAGE sql AS $$
  DELETE FROM public.app_versions WHERE is_major = false;
  SELECT '1.0.0'::text;
$$;
-- pgrunbook: allow review-add-column-volatile-default reviewed
ALTER TABLE "user_version_tracking" ADD COLUMN "release" text DEFAULT public.current_release() NOT NULL;
