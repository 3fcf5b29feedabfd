-- expect: forbidden ban-dblink review-select
SELECT dblink_exec('dbname=other', 'DROP TABLE users');
