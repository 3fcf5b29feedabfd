-- expect: allowed
-- why: a virtual column made of CASE, coalesce and a comparison of built-ins
ALTER TABLE "daily_bonus" ADD COLUMN "size_label" text GENERATED ALWAYS AS (CASE WHEN "amount" >= 100 THEN 'large' ELSE coalesce("proof_url", 'none') END) VIRTUAL;
