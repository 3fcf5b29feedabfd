"""catalog.read_code_catalog on a real database: what it reads, and the analysis it feeds."""

from __future__ import annotations

import pytest

from pgrunbook.catalog import read_code_catalog
from pgrunbook.pg import read_only
from pgrunbook.sqlcheck import CodeCatalog, Verdict, analyze_files

SETUP = """
CREATE FUNCTION public.purge_actions(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN DELETE FROM public.user_actions WHERE id < n; END $$;
CREATE FUNCTION public.purge_actions(t text) RETURNS void LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION public.kill(pid int) RETURNS boolean LANGUAGE internal AS 'pg_terminate_backend';
CREATE FUNCTION public.ledger_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE public.users SET role = 'fbo'; RETURN NEW; END $$;
CREATE TRIGGER ledger_audit AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW EXECUTE FUNCTION public.ledger_audit();
CREATE RULE keep_users AS ON INSERT TO drizzle.__drizzle_migrations DO ALSO DELETE FROM public.daily_bonus;
CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN TRUNCATE public.daily_bonus; END $$;
CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION public.on_ddl();
ALTER EVENT TRIGGER on_ddl DISABLE;
CREATE FUNCTION public.ok(v integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT v >= 0';
CREATE DOMAIN public.points AS integer DEFAULT 0 CHECK (public.ok(VALUE));
CREATE FUNCTION public.same(a integer, b integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT a = b';
CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.same);
CREATE INDEX users_ok_idx ON public.users (public.ok(id));
CREATE TYPE public.label AS (v text);
CREATE FUNCTION public.to_label(t text) RETURNS public.label LANGUAGE sql AS 'SELECT ROW(t)::public.label';
CREATE CAST (text AS public.label) WITH FUNCTION public.to_label(text) AS ASSIGNMENT;
ALTER TABLE public.users ADD CONSTRAINT users_ok CHECK (public.ok(id)) NOT VALID;
"""


@pytest.fixture
def catalog(app_db) -> CodeCatalog:
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute(SETUP)
        with read_only(conn):
            return read_code_catalog(conn)


def test_reads_functions_with_overloads_languages_and_definitions(catalog):
    purge = sorted(catalog.overloads("public", "purge_actions"), key=lambda f: f.argument_types)
    assert [f.argument_types for f in purge] == [("integer",), ("text",)]
    assert purge[0].language == "plpgsql" and "DELETE FROM public.user_actions" in purge[0].definition
    assert purge[0].definition.startswith("CREATE OR REPLACE FUNCTION public.purge_actions(n integer)")
    [kill] = catalog.overloads("public", "kill")
    assert (kill.language, kill.source) == ("internal", "pg_terminate_backend")
    assert not any(f.schema in ("pg_catalog", "information_schema") for f in catalog.functions)


def test_reads_triggers_rules_and_event_triggers(catalog):
    [trigger] = catalog.triggers_on("drizzle", "__drizzle_migrations")
    assert (trigger.name, trigger.function_schema, trigger.function_name) == ("ledger_audit", "public", "ledger_audit")
    assert trigger.events == frozenset({"insert"}) and trigger.enabled
    assert [(r.table, r.name) for r in catalog.rules] == [("__drizzle_migrations", "keep_users")]
    assert catalog.rules[0].definition.startswith("CREATE RULE keep_users AS")
    [event_trigger] = catalog.event_triggers
    assert (event_trigger.name, event_trigger.event, event_trigger.enabled) == ("on_ddl", "ddl_command_end", False)


def test_reads_operators_domains_and_expression_indexes(catalog):
    assert [(o.name, o.left, o.function_name) for o in catalog.operators] == [("===", "integer", "same")]
    [domain] = catalog.domains
    assert (domain.name, domain.default) == ("points", "0") and "ok(VALUE)" in domain.checks[0]
    assert [(i.table, i.name) for i in catalog.indexes if i.table == "users"] == [("users", "users_ok_idx")]
    assert "public.ok(id)" in catalog.indexes[-1].definition or any("ok(id)" in i.definition for i in catalog.indexes)


def test_reads_casts_implemented_by_functions(catalog):
    assert [(c.source, c.target, c.function_name) for c in catalog.casts] == [("text", "label", "to_label")]


def test_reads_not_valid_checks(catalog):
    [check] = [c for c in catalog.unvalidated_checks if c.name == "users_ok"]
    assert check.table == "users" and "ok(id)" in check.definition and check.definition.endswith("NOT VALID")


def test_extension_objects_are_left_out(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        # The test server ships no contrib extension: make a function a member of plpgsql.
        conn.execute("CREATE FUNCTION public.ext_helper() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE FUNCTION public.own_helper() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("ALTER EXTENSION plpgsql ADD FUNCTION public.ext_helper()")
        with read_only(conn):
            catalog = read_code_catalog(conn)
        conn.execute("ALTER EXTENSION plpgsql DROP FUNCTION public.ext_helper()")
    assert not catalog.overloads(None, "ext_helper")
    assert catalog.overloads("public", "own_helper")


def test_the_analysis_follows_what_the_catalog_holds(catalog):
    pending = ("0012_x.sql", "CREATE INDEX IF NOT EXISTS i ON users (email);\nSELECT public.kill(1);")
    (without,) = analyze_files([pending])
    (analysis,) = analyze_files([pending], catalog=catalog)
    assert "ban-tracking-table-write" not in analysis.rule_ids()
    assert {"ban-update", "ban-delete", "ban-terminate-backend"} <= set(analysis.rule_ids())
    assert analysis.verdict is Verdict.FORBIDDEN
    assert "ban-update" not in without.rule_ids()  # it comes from the database's trigger
    # The event trigger is disabled: its TRUNCATE does not fire.
    assert "ban-truncate" not in analysis.rule_ids()


def test_postgresql_and_extension_functions_that_cannot_write_are_not_unknown_code(app_db):
    """Issue 12 item 7: a call to one of PostgreSQL's own (or an extension's) IMMUTABLE / STABLE functions is not
    "a function this migration set does not define": the live catalog (pg_proc) says it cannot write. Volatile
    ones, and the built-ins with a rule of their own, stay exactly as strict."""
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("CREATE EXTENSION pg_trgm; CREATE EXTENSION dblink")
        with read_only(conn):
            live = read_code_catalog(conn)
    assert {("pg_catalog", "sha256"), ("public", "similarity")} <= live.read_only_builtins
    assert not {("pg_catalog", "pg_reload_conf"), ("public", "set_limit"), ("public", "dblink_exec")} & live.read_only_builtins

    def rules(sql: str, catalog: CodeCatalog) -> set[str]:
        [analysis] = analyze_files([("0001_x.sql", sql)], catalog=catalog)
        return {f.rule_id for f in analysis.blocking}

    lifted = ["SELECT encode(sha256('x'::bytea), 'hex');", "SELECT similarity('abc', 'abd');",
              "SELECT pg_catalog.regexp_count('abcabc', 'b');", "SELECT uuid_extract_version(gen_random_uuid());"]
    for sql in lifted:
        assert "review-function-call" in rules(sql, CodeCatalog()), sql  # without the catalog: unknown, reviewed
        assert "review-function-call" not in rules(sql, live), sql
    strict = ["SELECT pg_reload_conf();", "SELECT pg_notify('jobs', 'x');", "SELECT set_limit(0.5);",  # volatile
              "SELECT dblink_exec('dbname=x', 'DELETE FROM users');", "SELECT pg_sleep(10);", "SELECT setval('s', 1);",
              "SELECT pg_advisory_unlock_all();", "SELECT set_config('search_path', 'x', false);"]  # rules of their own
    for sql in strict:
        assert rules(sql, live) == rules(sql, CodeCatalog()) and rules(sql, live) - {"review-select"}, sql
