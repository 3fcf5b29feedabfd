-- expect: forbidden ban-delete
DELETE FROM "public"."users" WHERE "email" = 'x@y.z';
