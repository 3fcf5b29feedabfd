-- expect: forbidden ban-dangerous-function review-select
SELECT dblink_exec('dbname=other', 'DROP TABLE users');
