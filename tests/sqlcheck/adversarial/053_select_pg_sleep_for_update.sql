-- expect: review
-- why: row locks on every user held while sleeping ten minutes: logins and updates queue behind the migration
SELECT pg_sleep(600) FROM (SELECT id FROM users FOR UPDATE) locked LIMIT 1;
