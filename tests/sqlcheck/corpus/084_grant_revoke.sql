-- expect: review review-grant review-revoke
GRANT SELECT ON users TO reporting;
REVOKE UPDATE ON users FROM app_user;
