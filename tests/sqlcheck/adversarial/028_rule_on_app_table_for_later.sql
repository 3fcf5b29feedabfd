-- expect: review
-- why: created for later: every insert into user_actions by the app also deletes every proof
-- pgrunbook: allow review-unclassified,ban-delete reviewed by the DBA
CREATE RULE proofs_gc AS ON INSERT TO user_actions DO ALSO DELETE FROM proofs;
