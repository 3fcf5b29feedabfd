-- expect: review review-function-call review-select
SELECT backfill_user_stats();
