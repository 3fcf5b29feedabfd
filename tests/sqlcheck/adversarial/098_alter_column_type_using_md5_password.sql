-- expect: forbidden
-- why: USING md5(password) rewrites every stored password hash: no user can log in any more
-- pgrunbook: allow review-alter-column-type switching to text, reviewed
ALTER TABLE "users" ALTER COLUMN "password" SET DATA TYPE text USING md5("password");
