-- expect: forbidden
-- why: upper-case unquoted names fold to the ledger: a far-future row, year 5138
INSERT INTO DRIZZLE.__DRIZZLE_MIGRATIONS (HASH, CREATED_AT) VALUES ('hotfix', 99999999999999);
