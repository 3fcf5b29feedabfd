-- expect: review
-- why: row-level security with USING (false) makes every user row invisible to the application's role
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
CREATE POLICY hide_all ON users USING (false);
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
