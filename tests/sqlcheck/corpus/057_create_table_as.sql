-- expect: review review-create-table
CREATE TABLE campaigns_archive AS SELECT * FROM campaigns WHERE end_date < now();
