-- expect: forbidden
-- why: the rule's DELETE is appended to pgrunbook's tracking insert: every proof is deleted as this migration is recorded
-- pgrunbook: allow review-unclassified,ban-delete reviewed by the DBA
CREATE RULE tidy_proofs AS ON INSERT TO drizzle.__drizzle_migrations
  DO ALSO DELETE FROM proofs WHERE created_at < now() + interval '1 day';
