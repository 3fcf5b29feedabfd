-- expect: review
-- why: fails if a user has two bonuses on one day, after holding a SHARE lock on daily_bonus for the whole scan
CREATE UNIQUE INDEX IF NOT EXISTS idx_daily_bonus_once_a_day ON daily_bonus (user_id, bonus_date);
