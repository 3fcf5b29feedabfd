-- expect: review
-- why: UNIQUE with a constant default fails as soon as the table has two rows, after a full rewrite under ACCESS EXCLUSIVE
ALTER TABLE "users" ADD COLUMN "referral_code" varchar(16) DEFAULT 'NONE' UNIQUE;
