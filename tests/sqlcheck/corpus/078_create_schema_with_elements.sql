-- expect: review review-create-schema review-create-table
CREATE SCHEMA reporting
  CREATE TABLE daily_totals (day date PRIMARY KEY, total bigint NOT NULL);
