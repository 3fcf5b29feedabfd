-- expect: review review-comment-on
COMMENT ON TABLE users IS 'drop everything; delete from users';
