"""What the classifier finds, statement by statement (kinds, flags, lines, where)."""

from __future__ import annotations

import pytest

from pgrunbook.sqlcheck import analyze_files, analyze_sql


def ops(sql: str):
    return analyze_sql(sql, file="c.sql").operations


def kinds(sql: str) -> list[str]:
    return [op.kind for op in ops(sql)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE INDEX IF NOT EXISTS i ON users (a);", ["create-index"]),
        ("ANALYZE users, campaigns;", ["analyze", "analyze"]),
        ("VACUUM (ANALYZE) users;", ["vacuum"]),
        ("ALTER TABLE users ADD COLUMN a int, ALTER COLUMN b SET NOT NULL, ALTER COLUMN c DROP DEFAULT;", ["add-column", "set-not-null", "drop-default"]),
        ("CREATE SEQUENCE s; CREATE SCHEMA x; CREATE EXTENSION pg_trgm;", ["create-sequence", "create-schema", "create-extension"]),
        ("CREATE DOMAIN email AS text; CREATE TYPE pair AS (a int, b int);", ["create-type", "create-type"]),
        ("ALTER TABLE users RENAME CONSTRAINT a TO b; ALTER TABLE users SET SCHEMA archive;", ["rename", "rename"]),
        ("DROP OWNED BY old_role; DROP ROLE old_role; DROP DATABASE other;", ["drop", "drop", "drop"]),
        ("SELECT set_config('search_path', 'app', false); RESET ALL;", ["select", "set", "set"]),
        ("SAVEPOINT a; RELEASE SAVEPOINT a; COMMIT;", ["transaction-control"] * 3),
        ("COPY (SELECT * FROM users) TO STDOUT;", ["select"]),
        ("COPY users TO '/tmp/users.csv';", ["dangerous-call", "select"]),
        ("EXPLAIN (ANALYZE false) DELETE FROM users;", ["select"]),
        ("EXPLAIN (ANALYZE true) DELETE FROM users;", ["select", "delete"]),
        ("CREATE MATERIALIZED VIEW mv AS SELECT purge();", ["create-view", "call"]),
        # Neither runs its query now; what it calls is reported for later (REFRESH, reads).
        ("CREATE MATERIALIZED VIEW mv AS SELECT purge() WITH NO DATA;", ["create-view", "call"]),
        ("CREATE VIEW v AS SELECT purge();", ["create-view", "call"]),
        ("SELECT count(*), lower(email), now() FROM users;", ["select"]),
        ("DO $$ BEGIN PERFORM pg_sleep(1); END $$;", ["dangerous-call"]),
        ("DO $$ BEGIN IF (SELECT count(*) FROM users) > 0 THEN RAISE NOTICE 'x'; END IF; END $$;", ["do-block"]),
        ("DO $$ BEGIN COMMIT; END $$;", ["transaction-control"]),
        ("DO $$ DECLARE n int := cleanup(); BEGIN NULL; END $$;", ["call"]),
        ("DO $$ DECLARE n int; BEGIN n := cleanup(); END $$;", ["call"]),
        ("DO $$ BEGIN EXECUTE 'SELECT 1'; END $$;", ["do-block"]),
        ("DO $$ BEGIN EXECUTE 'NOT SQL AT ALL'; END $$;", ["dynamic-sql"]),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym';", ["create-function", "call"]),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS $$ return 1 $$;", ["create-function", "dynamic-sql"]),
        ("INSERT INTO users SELECT * FROM staging ON CONFLICT DO NOTHING;", ["insert-seed"]),
        ("CREATE TABLE t (id int) ; CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION g();", ["create-table", "create-trigger", "call"]),
        ("LISTEN x; NOTIFY x;", ["other", "other"]),
    ],
)
def test_kinds(sql, expected):
    assert kinds(sql) == expected


def test_create_index_flags_and_target():
    [op] = ops('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Idx" ON "public"."Users" ("Email") WHERE deleted_at IS NULL;')
    assert op.flags == {"unique", "concurrently", "if_not_exists", "partial"}
    assert (op.target.schema, op.target.table, op.target.name, op.columns) == ("public", "Users", "Idx", ("Email",))
    assert op.summary == 'CREATE UNIQUE INDEX "Idx" ON public."Users" (Email)'


def test_add_column_flags():
    [op] = ops('ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "created_at" timestamp DEFAULT now() NOT NULL;')
    assert op.flags == {"if_not_exists", "has_default", "not_null"}
    [volatile] = ops("ALTER TABLE users ADD COLUMN id2 uuid DEFAULT gen_random_uuid() PRIMARY KEY;")
    assert {"volatile_default", "has_default", "primary_key"} <= volatile.flags


def test_identifiers_are_normalized_like_postgresql():
    spellings = ["DELETE FROM users", 'DELETE FROM "users"', "DELETE FROM public.users", 'DELETE FROM "public"."users"', "delete from PUBLIC.USERS"]
    assert {ops(s)[0].target.qualified for s in spellings} == {"public.users"}
    assert ops('DELETE FROM "Users"')[0].target.name == "Users"


def test_do_block_operations_are_on_their_own_lines():
    sql = "ANALYZE t;\nDO $$\nBEGIN\n  ANALYZE u;\n\n  DELETE FROM users;\nEND $$;"
    found = [(op.kind, op.line, op.via) for op in ops(sql)]
    assert found == [("analyze", 1, ()), ("analyze", 4, ("DO block",)), ("delete", 6, ("DO block",))]


def test_plpgsql_reads_are_not_operations_but_their_calls_are():
    sql = "DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM users; PERFORM notify_admins(n); END $$;"
    assert [(op.kind, op.summary) for op in ops(sql)] == [("call", "notify_admins()")]


def test_dynamic_sql_with_a_constant_is_classified_like_the_statement():
    [op] = ops("DO $$ BEGIN EXECUTE 'TRUNCATE ' || 'users'; END $$;")
    assert (op.kind, op.via) == ("truncate", ("DO block", "EXECUTE"))


def test_dynamic_sql_rebuilt_from_format_and_concat():
    found = ops("DO $$ DECLARE t text; BEGIN EXECUTE format('DELETE FROM %I WHERE id = %L', t, 1); EXECUTE concat('DROP TABLE ', t); END $$;")
    assert [(op.kind, op.summary) for op in found] == [
        ("dynamic-sql", "EXECUTE format('DELETE FROM %I WHERE id = %L', t, 1)"),
        ("delete", "DELETE FROM public.<dynamic>"),
        ("dynamic-sql", "EXECUTE concat('DROP TABLE ', t)"),
        ("drop", "DROP TABLE public.<dynamic>"),
    ]


def test_calls_are_followed_into_functions_defined_earlier_in_the_set():
    first = ("0001.sql", "CREATE FUNCTION archive_old() RETURNS void LANGUAGE sql AS $$ UPDATE users SET archived = true $$;")
    second = ("0002.sql", "SELECT public.archive_old();")
    _, analysis = analyze_files([first, second])
    assert [(op.kind, op.executed) for op in analysis.operations] == [("select", True), ("update", True)]
    assert analysis.operations[1].via == ("call public.archive_old() (defined at line 1)",)


def test_function_bodies_are_not_executed_until_called():
    found = ops("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM users';")
    assert [(op.kind, op.executed, op.via) for op in found] == [
        ("create-function", True, ()),
        ("delete", False, ("body of public.f()",)),
    ]


def test_recursive_function_does_not_loop():
    sql = "CREATE FUNCTION r(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN r(n - 1); END $$; SELECT r(3);"
    assert kinds(sql) == ["create-function", "call", "select", "call"]


def test_schema_qualified_call_matches_only_that_schema():
    sql = "CREATE FUNCTION app.f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'; SELECT other.f(); SELECT f();"
    assert [op.kind for op in ops(sql)][2:] == ["select", "call", "select", "delete"]


def test_update_of_tracking_table_is_an_update():
    [op] = ops('UPDATE "drizzle"."__drizzle_migrations" SET hash = 1;')
    assert (op.kind, op.target.qualified) == ("update", "drizzle.__drizzle_migrations")
