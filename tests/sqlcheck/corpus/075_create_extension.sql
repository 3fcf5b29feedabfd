-- expect: review review-create-extension
CREATE EXTENSION IF NOT EXISTS pg_trgm;
