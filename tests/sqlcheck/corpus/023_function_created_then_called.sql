-- expect: forbidden ban-delete review-create-function review-select
CREATE OR REPLACE FUNCTION purge_inactive() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM users WHERE NOT is_active;
END
$$;
--> statement-breakpoint
SELECT purge_inactive();
