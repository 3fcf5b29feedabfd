-- expect: forbidden ban-update
UPDATE "public"."users" SET "role" = 'manager';
