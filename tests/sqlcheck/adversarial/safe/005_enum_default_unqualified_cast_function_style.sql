-- expect: allowed
-- why: CAST(... AS enum) of a constant is the same metadata-only default
ALTER TABLE daily_bonus ADD COLUMN IF NOT EXISTS review_status bonus_status DEFAULT CAST('pending' AS bonus_status);
