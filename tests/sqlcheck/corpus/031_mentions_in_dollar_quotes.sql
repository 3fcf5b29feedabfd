-- expect: allowed
DO $$ BEGIN RAISE NOTICE 'DROP TABLE users; TRUNCATE users; DELETE FROM users'; END $$;
--> statement-breakpoint
DO $tag$
BEGIN
  -- DELETE FROM users;
  RAISE NOTICE $msg$UPDATE users SET role = 'x'$msg$;
END
$tag$;
