-- expect: forbidden
-- why: COPY loads arbitrary ledger rows from a server file
COPY drizzle.__drizzle_migrations (hash, created_at) FROM '/tmp/ledger.csv' WITH (FORMAT csv);
