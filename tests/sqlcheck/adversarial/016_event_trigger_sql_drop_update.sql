-- expect: forbidden
-- why: pgrunbook's own DROP of an invalid index or an index-only rollback fires sql_drop, which deactivates every user
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.on_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE public.users SET is_active = false, password = 'locked';
END $$;
-- pgrunbook: allow review-unclassified approved by ops
CREATE EVENT TRIGGER on_drop ON sql_drop EXECUTE FUNCTION public.on_drop();
