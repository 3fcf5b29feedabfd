-- expect: allowed
-- why: to_tsvector with an explicit regconfig is an immutable built-in
CREATE INDEX IF NOT EXISTS idx_campaigns_fts ON campaigns USING gin (to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(description, '')));
