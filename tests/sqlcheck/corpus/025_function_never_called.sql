-- expect: review ban-delete review-create-function
-- A helper for the application: it deletes when called, not during the migration.
CREATE FUNCTION cleanup_sessions() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM sessions WHERE expires_at < now();
END $$;
