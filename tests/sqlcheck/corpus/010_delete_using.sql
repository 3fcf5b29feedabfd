-- expect: forbidden ban-delete
DELETE FROM sessions s USING users u WHERE s.user_id = u.id AND NOT u.is_active;
