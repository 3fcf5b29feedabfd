-- expect: review
-- why: existing function (statically review): reset_counters(bigint) is the overload that truncates; reset_counters(integer) is the harmless one
SELECT reset_counters(42::bigint);
