-- expect: forbidden ban-update review-create-function
CREATE PROCEDURE reset_roles() LANGUAGE plpgsql AS $$
BEGIN
  UPDATE users SET role = 'fbo';
END $$;
CALL reset_roles();
