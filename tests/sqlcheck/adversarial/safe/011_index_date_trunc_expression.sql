-- expect: allowed
-- why: date_trunc on a timestamp without time zone is an immutable built-in
CREATE INDEX IF NOT EXISTS idx_user_actions_day ON user_actions (date_trunc('day', created_at));
