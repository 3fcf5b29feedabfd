-- expect: forbidden
-- why: USING a constant is an UPDATE in disguise: every user's last name is overwritten with the same value
-- pgrunbook: allow review-alter-column-type widening the column, reviewed
ALTER TABLE "users" ALTER COLUMN "last_name" TYPE varchar(200) USING 'Doe';
