-- expect: forbidden ban-seed-insert
INSERT INTO users (email, password, first_name, last_name, role)
VALUES ('admin@example.com', 'x', 'Ad', 'Min', 'manager');
