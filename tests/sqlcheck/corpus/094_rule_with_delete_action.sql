-- expect: review ban-delete review-unclassified
-- The rule's DELETE runs on the application's inserts, later: reviewed, not forbidden.
CREATE RULE no_audit AS ON INSERT TO audit_log DO INSTEAD DELETE FROM audit_log WHERE created_at < now();
