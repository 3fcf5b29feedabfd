-- expect: forbidden ban-delete ban-update review-alter-column-type review-create-function
-- USING is evaluated on every row: the function's DELETE runs during the migration.
CREATE FUNCTION to_cents(v numeric) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM price_history WHERE amount = v;
  RETURN (v * 100)::bigint;
END $$;
ALTER TABLE "prices" ALTER COLUMN "amount" TYPE bigint USING to_cents("amount");
