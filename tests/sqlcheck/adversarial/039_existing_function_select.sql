-- expect: review
-- why: existing function (statically review): archive_inactive_users() was created by hand in production and deletes users
SELECT archive_inactive_users();
