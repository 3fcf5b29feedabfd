-- expect: forbidden
-- why: the first row looks like a journal entry, the second is dated 2100 and stops drizzle for good
INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES
  ('a3f9e2c7d1b0', 1758046044552),
  ('a3f9e2c7d1b1', 4102444800000);
