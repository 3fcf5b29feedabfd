-- expect: review
-- why: a unique partial index over pending bonuses fails whenever two pending bonuses share a campaign
CREATE UNIQUE INDEX IF NOT EXISTS idx_one_pending_bonus ON daily_bonus (campaign_id) WHERE status = 'pending';
