-- expect: allowed excepted:review-create-table
-- pgrunbook: allow review-create-table new table for the bonus feature, reviewed by ops
CREATE TABLE bonus_rules (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL
);
