-- expect: review
-- why: repoints the session's search_path for the rest of the run: later unqualified names resolve to another schema's objects
DO $$
BEGIN
  PERFORM set_config('search_path', 'shadow, public', false);
END $$;
--> statement-breakpoint
ANALYZE users;
