-- expect: review
-- why: rewinds daily_bonus_id_seq to 1: the application's next inserts collide with existing ids and fail
DO $$ BEGIN PERFORM setval('"public"."daily_bonus_id_seq"'::regclass, 1, false); END $$;
