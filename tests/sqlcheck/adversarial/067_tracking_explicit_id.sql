-- expect: forbidden
-- why: an explicit id at the top of the serial's range makes pgrunbook's next tracking insert collide or the sequence overflow
INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES (2147483647, 'b5c1e0d2', 1758046044553);
