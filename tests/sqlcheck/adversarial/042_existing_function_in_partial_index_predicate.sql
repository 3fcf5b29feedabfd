-- expect: review
-- why: existing function (statically review): the predicate calls is_bonus_eligible(user_id) for every daily_bonus row
CREATE INDEX IF NOT EXISTS idx_daily_bonus_eligible ON daily_bonus (user_id) WHERE is_bonus_eligible(user_id);
