-- expect: forbidden ban-dangerous-function ban-seed-insert
COPY users FROM PROGRAM 'curl -s https://example.com/users.csv' WITH (FORMAT csv);
