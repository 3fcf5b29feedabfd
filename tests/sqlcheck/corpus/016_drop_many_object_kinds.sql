-- expect: forbidden ban-drop
DROP TYPE "public"."user_role";
DROP SCHEMA old_stuff CASCADE;
DROP FUNCTION IF EXISTS compute_bonus(integer);
DROP VIEW active_users;
DROP SEQUENCE users_id_seq;
DROP TRIGGER trg_touch ON users;
