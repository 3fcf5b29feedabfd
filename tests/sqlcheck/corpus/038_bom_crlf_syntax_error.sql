-- expect: error 3:11
ANALYZE users;
SELECT 1 +;
