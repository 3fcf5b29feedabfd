-- expect: forbidden ban-delete review-unclassified
PREPARE purge(int) AS DELETE FROM users WHERE id = $1;
EXECUTE purge(1);
