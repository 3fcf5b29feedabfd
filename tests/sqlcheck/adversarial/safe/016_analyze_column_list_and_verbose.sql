-- expect: allowed
-- why: ANALYZE of chosen columns only refreshes statistics
ANALYZE users (email, role);
ANALYZE VERBOSE "public"."user_actions";
