-- expect: review review-function-call review-select
SELECT setval('users_id_seq', (SELECT max(id) FROM users));
