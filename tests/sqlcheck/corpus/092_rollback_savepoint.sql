-- expect: review review-transaction-control review-create-table
SAVEPOINT before_table;
CREATE TABLE t_tmp (id int);
ROLLBACK TO SAVEPOINT before_table;
