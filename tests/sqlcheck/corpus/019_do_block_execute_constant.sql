-- expect: forbidden ban-drop
DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$;
