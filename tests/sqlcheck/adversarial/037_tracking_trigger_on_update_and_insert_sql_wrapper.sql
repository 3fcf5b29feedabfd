-- expect: forbidden
-- why: the trigger wrapper calls an SQL-language function (in a plain string body) that deletes every user_version_tracking row
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.forget_versions() RETURNS void LANGUAGE sql AS 'DELETE FROM public.user_version_tracking';
-- pgrunbook: allow review-create-function approved by ops
CREATE FUNCTION public.versions_hook() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM public.forget_versions(); RETURN NEW; END';
-- pgrunbook: allow review-create-trigger approved by ops
CREATE TRIGGER versions_hook AFTER INSERT OR UPDATE ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.versions_hook();
