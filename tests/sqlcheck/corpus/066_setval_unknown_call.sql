-- expect: forbidden ban-setval review-select
SELECT setval('users_id_seq', (SELECT max(id) FROM users));
