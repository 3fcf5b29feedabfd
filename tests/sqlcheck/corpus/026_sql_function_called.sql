-- expect: forbidden ban-delete review-create-function review-select
CREATE FUNCTION drop_test_users() RETURNS integer LANGUAGE sql AS $body$
  DELETE FROM users WHERE email LIKE '%@example.test';
  SELECT 1;
$body$;
SELECT drop_test_users();
