-- expect: allowed
-- why: dangerous words in comments and RAISE strings are inert
-- CREATE TRIGGER t AFTER INSERT ON drizzle.__drizzle_migrations EXECUTE FUNCTION wipe();
DO $$
BEGIN
  RAISE NOTICE 'never: CREATE EVENT TRIGGER e ON ddl_command_end; DELETE FROM daily_bonus; pg_advisory_unlock_all()';
END $$;
--> statement-breakpoint
/* INSERT INTO drizzle.__drizzle_migrations VALUES (1, 'x', 9999999999999); */
ANALYZE "daily_bonus";
