-- expect: review allow-comment-missing-reason review-create-table
-- pgrunbook: allow review-create-table
CREATE TABLE notes (id bigint PRIMARY KEY, body text);
