-- expect: forbidden ban-delete review-select
EXPLAIN ANALYZE DELETE FROM users WHERE id = 1;
