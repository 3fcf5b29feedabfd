-- expect: review review-select
-- Plain EXPLAIN only plans the DELETE, it does not run it.
EXPLAIN DELETE FROM users WHERE id = 1;
