-- expect: forbidden
-- why: takes ledger id 13 ahead of pgrunbook's recorder; ON CONFLICT DO NOTHING hides the collision later
INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES (13, 'pre-claimed', 1758046044600)
ON CONFLICT DO NOTHING;
