-- expect: forbidden
-- why: two overloads of cleanup(): the harmless integer one is reviewed, the text one (the one called) deletes proofs
-- pgrunbook: allow review-create-function reviewed in PR 88
CREATE FUNCTION public.cleanup(keep integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'keeping %', keep;
END $$;
-- pgrunbook: allow review-create-function reviewed
CREATE FUNCTION public.cleanup(kind text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.proofs WHERE type::text <> kind OR true;
END $$;
-- pgrunbook: allow review-create-function reviewed by the DBA
CREATE FUNCTION public.on_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.cleanup('image'::text);
  RETURN NEW;
END $$;
-- pgrunbook: allow review-create-trigger reviewed in PR 88
CREATE TRIGGER on_record AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.on_record();
