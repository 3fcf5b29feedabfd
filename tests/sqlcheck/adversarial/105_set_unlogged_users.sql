-- expect: review
-- why: an UNLOGGED users table is emptied by the next crash recovery and missing on every replica (PostgreSQL refuses it only while foreign keys tie it to logged tables)
ALTER TABLE "users" SET UNLOGGED;
