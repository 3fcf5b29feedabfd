-- expect: forbidden ban-lo-unlink review-select
SELECT lo_unlink(l.oid) FROM pg_largeobject_metadata l;
