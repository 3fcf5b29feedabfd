-- expect: forbidden ban-delete
DO $outer$
BEGIN
  EXECUTE $q$DELETE FROM users WHERE id = 1$q$;
END
$outer$;
