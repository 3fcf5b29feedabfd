-- expect: forbidden ban-seed-insert
COPY users (email, first_name) FROM '/tmp/users.csv' WITH (FORMAT csv, HEADER true);
