-- expect: forbidden ban-delete
DELETE FROM users WHERE is_active = false;
