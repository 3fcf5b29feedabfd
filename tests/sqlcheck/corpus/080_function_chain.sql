-- expect: forbidden ban-delete review-create-function review-select
CREATE FUNCTION inner_purge() RETURNS void LANGUAGE sql AS 'DELETE FROM users';
CREATE FUNCTION outer_job() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM inner_purge();
END $$;
SELECT outer_job();
