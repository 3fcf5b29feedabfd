-- expect: forbidden ban-update ban-delete ban-seed-insert
MERGE INTO users u
USING staging_users s ON u.email = s.email
WHEN MATCHED AND s.deleted THEN DELETE
WHEN MATCHED THEN UPDATE SET first_name = s.first_name
WHEN NOT MATCHED THEN INSERT (email, first_name) VALUES (s.email, s.first_name);
