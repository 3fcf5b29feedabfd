-- expect: allowed
-- PostgreSQL 12+ adds an enum value without touching a row nor locking a table; nothing in the file uses it in
-- the same transaction (that would fail: "unsafe use of new value"), see 059b.
ALTER TYPE "public"."user_role" ADD VALUE IF NOT EXISTS 'admin';
