-- expect: forbidden ban-delete review-select
WITH d AS (DELETE FROM users WHERE is_active = false RETURNING *)
SELECT count(*) FROM d;
