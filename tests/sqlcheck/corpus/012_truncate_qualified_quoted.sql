-- expect: forbidden ban-truncate
TRUNCATE TABLE "public"."user_actions", public.daily_bonus RESTART IDENTITY CASCADE;
