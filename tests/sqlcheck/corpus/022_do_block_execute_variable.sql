-- expect: forbidden ban-dynamic-sql
DO $$
DECLARE stmt text;
BEGIN
  SELECT q INTO stmt FROM pending_sql LIMIT 1;
  EXECUTE stmt;
END $$;
