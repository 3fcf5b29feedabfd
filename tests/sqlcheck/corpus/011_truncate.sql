-- expect: forbidden ban-truncate
TRUNCATE users;
