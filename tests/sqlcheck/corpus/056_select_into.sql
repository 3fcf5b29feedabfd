-- expect: review review-create-table
SELECT * INTO users_backup FROM users;
