-- expect: forbidden ban-seed-insert
INSERT INTO users (email, role) SELECT email, 'fbo' FROM staging_users;
