-- expect: forbidden ban-truncate review-create-function review-select
CREATE FUNCTION wipe() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  DO $inner$ BEGIN TRUNCATE users; END $inner$;
END
$fn$;
SELECT wipe();
