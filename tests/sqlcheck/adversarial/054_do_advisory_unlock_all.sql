-- expect: forbidden
-- why: releases every advisory lock of the session, pgrunbook's run lock included: a second run can start concurrently
DO $$ BEGIN PERFORM pg_advisory_unlock_all(); END $$;
