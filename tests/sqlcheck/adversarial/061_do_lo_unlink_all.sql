-- expect: forbidden
-- why: unlinks every large object of the database (profile pictures stored as blobs are gone)
DO $$
BEGIN
  PERFORM lo_unlink(m.oid) FROM pg_largeobject_metadata m;
END $$;
