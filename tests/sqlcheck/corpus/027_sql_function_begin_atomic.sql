-- expect: forbidden ban-update review-create-function review-select
CREATE FUNCTION deactivate_all() RETURNS integer LANGUAGE sql
BEGIN ATOMIC
  UPDATE users SET is_active = false;
  SELECT 1;
END;
SELECT deactivate_all();
