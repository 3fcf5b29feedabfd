-- expect: review create-index-without-if-not-exists info:non-concurrent-index
CREATE INDEX idx_users_email ON users (email);
