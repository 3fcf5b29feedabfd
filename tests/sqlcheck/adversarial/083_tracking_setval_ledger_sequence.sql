-- expect: review
-- why: rewinds the ledger's id sequence: pgrunbook's next tracking insert fails on a duplicate id
SELECT setval(pg_get_serial_sequence('drizzle.__drizzle_migrations', 'id'), 1, false);
