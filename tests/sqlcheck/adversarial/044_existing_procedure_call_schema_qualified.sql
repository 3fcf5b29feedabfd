-- expect: review
-- why: existing function (statically review): CALL of a hand-made maintenance procedure whose definition only the live catalog knows
CALL maintenance.compact_user_actions(true, 5000);
