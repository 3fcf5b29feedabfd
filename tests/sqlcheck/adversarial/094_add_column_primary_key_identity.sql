-- expect: review
-- why: a new identity primary key rewrites user_actions and builds a unique index under ACCESS EXCLUSIVE, then fails on the existing primary key
ALTER TABLE "user_actions" ADD COLUMN "uid" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
