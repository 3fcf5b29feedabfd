-- expect: forbidden ban-dynamic-sql ban-drop review-create-function
CREATE OR REPLACE PROCEDURE "public"."drop_partition"(p text) LANGUAGE plpgsql AS $proc$
BEGIN
  EXECUTE 'DROP TABLE IF EXISTS ' || p;
END
$proc$;
--> statement-breakpoint
DO $$ BEGIN CALL "public"."drop_partition"('events_2023'); END $$;
