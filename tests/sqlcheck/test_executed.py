"""The executed-code model (issue 9): code the run causes to execute is judged as executed."""

from __future__ import annotations

import pytest

from pgrunbook.sqlcheck import (
    CatalogEventTrigger,
    CatalogFunction,
    CatalogRule,
    CatalogTrigger,
    CodeCatalog,
    Policy,
    Verdict,
    analyze_files,
    analyze_sql,
)

F, R, A = Verdict.FORBIDDEN, Verdict.REVIEW, Verdict.ALLOWED
LIFT_FORBIDDEN = Policy.from_dict({"inline_allow": "forbidden"})
PURGE = (
    "CREATE FUNCTION public.purge() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN DELETE FROM public.user_actions WHERE user_id = NEW.id; RETURN NEW; END $$;\n"
)
PURGE_V = "CREATE FUNCTION public.purge_v(x int) RETURNS int LANGUAGE sql AS 'DELETE FROM public.user_actions RETURNING 1';\n"


def analysis(sql: str, **kwargs):
    return analyze_sql(sql, file="m.sql", **kwargs)


def delete_findings(result):
    return [f for f in result.findings if f.rule_id == "ban-delete"]


# --------------------------------------------------------------------------- triggers and rules


def test_trigger_on_the_tracking_table_fires_on_pgrunbooks_own_insert():
    result = analysis(PURGE + "CREATE TRIGGER t AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION purge();")
    assert result.verdict is F
    [fired] = [f for f in delete_findings(result) if f.verdict is F]
    assert "pgrunbook's tracking insert into drizzle.__drizzle_migrations" in fired.message
    assert "trigger t on drizzle.__drizzle_migrations fires on INSERT" in fired.message
    assert not fired.waivable
    assert "ban-tracking-table-code" in result.rule_ids()


@pytest.mark.parametrize("policy", [None, LIFT_FORBIDDEN], ids=["default", "inline_allow-forbidden"])
def test_no_inline_comment_lifts_what_a_tracking_trigger_executes(policy):
    sql = (
        PURGE + "-- pgrunbook: allow ban-delete,ban-tracking-table-code reviewed by ops\n"
        "CREATE TRIGGER t AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION purge();"
    )
    result = analysis(sql, **({"policy": policy} if policy else {}))
    assert result.verdict is F
    assert any(f.rule_id == "ban-delete" and f.verdict is F and f.excepted is None for f in result.findings)


def test_a_trigger_created_by_one_file_fires_in_every_later_files_recording():
    first = ("0001.sql", PURGE + "CREATE TRIGGER t AFTER INSERT ON drizzle.__drizzle_migrations EXECUTE FUNCTION purge();")
    second = ("0002.sql", "CREATE INDEX IF NOT EXISTS i ON users (email);")
    _, later = analyze_files([first, second])
    assert later.verdict is F and later.rule_ids() == ("ban-delete",)
    assert later.run_operations and all(op.implicit and op.executed for op in later.run_operations)


def test_rule_on_the_tracking_table_is_executed():
    result = analysis("CREATE RULE r AS ON INSERT TO drizzle.__drizzle_migrations DO ALSO DELETE FROM users;")
    assert result.verdict is F
    assert {"ban-delete", "ban-tracking-table-code"} <= set(result.rule_ids(F))


def test_trigger_on_an_app_table_runs_later_and_says_when():
    result = analysis(PURGE + "CREATE TRIGGER t AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION purge();")
    assert result.verdict is R
    messages = [f.message for f in delete_findings(result)]
    assert any("deletes rows of public.user_actions" in m and "on every INSERT on public.users" in m for m in messages)


def test_code_for_later_is_lifted_only_if_the_policy_lets_comments_lift_forbidden():
    sql = PURGE + "-- pgrunbook: allow ban-delete,review-create-trigger reviewed by ops\nCREATE TRIGGER t AFTER INSERT ON users EXECUTE FUNCTION purge();"
    assert "ban-delete" in analysis(sql).rule_ids()
    lifted = analysis(sql, policy=LIFT_FORBIDDEN)
    assert any(f.rule_id == "ban-delete" and f.excepted for f in lifted.findings)


def test_a_write_of_the_run_fires_the_triggers_created_before_it():
    policy = Policy.from_dict({"allow": ["insert-seed"], "forbid": []})
    sql = PURGE + "CREATE TRIGGER t AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION purge();\nINSERT INTO users (email) VALUES ('a');"
    result = analysis(sql, policy=policy)
    assert result.verdict is F
    [fired] = [f for f in delete_findings(result) if f.verdict is F]
    assert fired.line == 4 and "fires on INSERT" in fired.message


def test_rule_on_an_app_table_runs_later():
    result = analysis("CREATE RULE r AS ON INSERT TO audit_log DO ALSO DELETE FROM users;")
    assert result.verdict is R and "on every INSERT on public.audit_log" in delete_findings(result)[0].message


def test_event_trigger_fires_on_the_runs_ddl():
    fn = "CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN TRUNCATE daily_bonus; END $$;\n"
    first = ("0001.sql", fn + "CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION on_ddl();")
    second = ("0002.sql", "ALTER TABLE users ADD COLUMN IF NOT EXISTS x int;")
    created, later = analyze_files([first, second])
    assert created.verdict is F and "ban-truncate" in created.rule_ids(F)
    assert later.verdict is F and later.rule_ids() == ("ban-truncate",)


# --------------------------------------------------------------------------- expressions evaluated on rows


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE INDEX IF NOT EXISTS i ON users ((purge_v(id)));",
        "CREATE INDEX IF NOT EXISTS i ON users (email) WHERE purge_v(id) > 0;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS n int DEFAULT purge_v(1);",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS n int GENERATED ALWAYS AS (purge_v(id)) STORED;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS n int CHECK (purge_v(n) > 0);",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (purge_v(id) > 0);",
        "CREATE DOMAIN d AS int CHECK (purge_v(VALUE) > 0);",
        "ALTER DOMAIN d ADD CONSTRAINT c CHECK (purge_v(VALUE) > 0);",
        "ALTER TABLE users ALTER COLUMN role TYPE int USING purge_v(1);",
    ],
)
def test_functions_evaluated_on_existing_rows_are_executed(statement):
    sql = PURGE_V + "-- pgrunbook: allow ban-delete reviewed\n" + statement
    result = analysis(sql, policy=LIFT_FORBIDDEN)
    assert result.verdict is F, [str(f) for f in result.findings]
    assert any(f.rule_id == "ban-delete" and f.verdict is F and f.line == 3 and not f.waivable for f in result.findings)


@pytest.mark.parametrize(
    ("statement", "when"),
    [
        ("CREATE TABLE t (id int DEFAULT purge_v(1));", "on every insert into public.t"),
        ("CREATE TABLE t (id int CHECK (purge_v(id) > 0));", "on every insert or update of public.t"),
        ("ALTER TABLE users ALTER COLUMN n SET DEFAULT purge_v(1);", "on every insert into public.users"),
        ("ALTER TABLE users ADD CONSTRAINT c CHECK (purge_v(id) > 0) NOT VALID;", "on every insert or update of public.users"),
    ],
)
def test_expressions_kept_for_later_writes_are_reviewed_with_when(statement, when):
    result = analysis(PURGE_V + statement)
    assert result.verdict is R
    assert any(when in f.message for f in delete_findings(result))


def test_casts_and_operators_the_set_creates_are_followed():
    sql = (
        PURGE_V + "CREATE CAST (text AS label) WITH FUNCTION purge_v(int);\n"
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS l label DEFAULT 'x'::label;\n"
        "CREATE OPERATOR =~= (LEFTARG = int, RIGHTARG = int, FUNCTION = purge_v);\n"
        "CREATE INDEX IF NOT EXISTS i ON users (id) WHERE id =~= 1;"
    )
    result = analysis(sql)
    assert sorted({f.line for f in delete_findings(result) if f.verdict is F}) == [3, 5]


# --------------------------------------------------------------------------- the database's code


def function(name: str, body: str, *, args=(), language="plpgsql", schema="public", definition=True, returns="void"):
    """A CatalogFunction as read_code_catalog makes it (pg_get_functiondef's text)."""
    text = (
        f"CREATE OR REPLACE FUNCTION {schema}.{name}({', '.join(f'a{i} {t}' for i, t in enumerate(args))})\n"
        f" RETURNS {returns} LANGUAGE {language}\nAS $function$ {body} $function$\n"
    )
    return CatalogFunction(schema, name, tuple(args), language, body, text if definition else None)


def test_existing_function_is_classified_like_a_new_one():
    catalog = CodeCatalog.of([function("backfill", "BEGIN UPDATE users SET role = 'x'; END")])
    assert analysis("SELECT backfill();").rule_ids() == ("review-function-call", "review-select")
    result = analysis("SELECT backfill();", catalog=catalog)
    assert result.verdict is F and "(in the database)" in result.findings[0].message + result.findings[1].message


def test_the_overload_matching_the_arguments_is_chosen():
    catalog = CodeCatalog.of([
        function("f", "BEGIN DELETE FROM users; END", args=("integer",)),
        function("f", "BEGIN PERFORM 1; END", args=("text", "text")),
        function("g", "BEGIN TRUNCATE users; END", args=("integer",)),
        function("g", "BEGIN PERFORM 1; END", args=("boolean",)),
    ])
    assert "ban-delete" in analysis("SELECT f(1);", catalog=catalog).rule_ids()
    assert "ban-delete" not in analysis("SELECT f('a', 'b');", catalog=catalog).rule_ids()
    assert "ban-truncate" not in analysis("SELECT g(true);", catalog=catalog).rule_ids()
    # 'x' is `unknown` to PostgreSQL: either overload may be it, the worst counts.
    assert "ban-truncate" in analysis("SELECT g('x');", catalog=catalog).rule_ids()


def test_an_exact_match_wins_over_an_implicit_cast():
    catalog = CodeCatalog.of([
        function("h", "BEGIN PERFORM 1; END", args=("integer",)),
        function("h", "BEGIN TRUNCATE users; END", args=("bigint",)),
    ])
    assert "ban-truncate" not in analysis("SELECT h(42);", catalog=catalog).rule_ids()
    assert "ban-truncate" in analysis("SELECT h(42::int8);", catalog=catalog).rule_ids()
    assert "ban-truncate" in analysis("SELECT h(9999999999);", catalog=catalog).rule_ids()


def test_internal_functions_are_the_builtin_they_alias():
    new = "CREATE FUNCTION public.bye(int) RETURNS bool LANGUAGE internal AS 'pg_terminate_backend';\nSELECT bye(1);"
    assert "ban-terminate-backend" in analysis(new).rule_ids(F)
    catalog = CodeCatalog.of([CatalogFunction("public", "cleanup", ("oid",), "internal", "be_lo_unlink", None)])
    assert "ban-lo-unlink" in analysis("SELECT cleanup(16400);", catalog=catalog).rule_ids(F)
    c_alias = CodeCatalog.of([CatalogFunction("public", "x", (), "c", "pg_advisory_unlock_all", None)])
    assert "ban-advisory-unlock" in analysis("DO $$ BEGIN PERFORM x(); END $$;", catalog=c_alias).rule_ids(F)


def test_an_unreadable_existing_body_is_reviewed():
    catalog = CodeCatalog.of([function("opaque", "", definition=False), function("bad", "BEGIN DELETE FROM", args=())])
    assert analysis("SELECT opaque();", catalog=catalog).verdict is R
    assert analysis("SELECT bad();", catalog=catalog).verdict is R


def test_recursive_existing_function_does_not_loop():
    catalog = CodeCatalog.of([function("r", "BEGIN PERFORM r(); DELETE FROM users; END")])
    assert analysis("SELECT r();", catalog=catalog).verdict is F


def test_existing_trigger_rule_and_event_trigger_fire_on_the_run():
    audit = function("audit", "BEGIN DELETE FROM users; RETURN NULL; END", returns="trigger")
    trigger = CatalogTrigger("drizzle", "__drizzle_migrations", "t", "public", "audit", frozenset({"insert"}))
    assert analysis("CREATE INDEX IF NOT EXISTS i ON users (a);", catalog=CodeCatalog.of([audit], [trigger])).verdict is F
    disabled = CatalogTrigger("drizzle", "__drizzle_migrations", "t", "public", "audit", frozenset({"insert"}), False)
    assert analysis("ANALYZE users;", catalog=CodeCatalog.of([audit], [disabled])).verdict is A
    rule = CatalogRule("drizzle", "__drizzle_migrations", "r",
                       "CREATE RULE r AS ON INSERT TO drizzle.__drizzle_migrations DO ALSO UPDATE users SET role = 'x';")
    assert "ban-update" in analysis("ANALYZE users;", catalog=CodeCatalog.of(rules=[rule])).rule_ids(F)
    event = CatalogEventTrigger("e", "ddl_command_end", "public", "audit")
    assert "ban-delete" in analysis("CREATE INDEX IF NOT EXISTS i ON users (a);", catalog=CodeCatalog.of([audit], event_triggers=[event])).rule_ids(F)


def test_replacing_an_existing_trigger_function_changes_what_fires():
    harmless = function("audit", "BEGIN RETURN NULL; END", returns="trigger")
    trigger = CatalogTrigger("drizzle", "__drizzle_migrations", "t", "public", "audit", frozenset({"insert"}))
    catalog = CodeCatalog.of([harmless], [trigger])
    assert analysis("ANALYZE users;", catalog=catalog).verdict is A
    replaced = "CREATE OR REPLACE FUNCTION public.audit() RETURNS trigger LANGUAGE sql AS 'DELETE FROM users';"
    assert "ban-delete" in analysis(replaced, catalog=catalog).rule_ids(F)


# --------------------------------------------------------------------------- built-ins


def test_qualified_builtins_are_builtins_and_others_are_not():
    assert analysis("SELECT pg_catalog.pg_terminate_backend(1);").rule_ids(F) == ("ban-terminate-backend",)
    assert analysis("ALTER TABLE users ADD COLUMN IF NOT EXISTS at timestamptz DEFAULT pg_catalog.now();").verdict is A
    assert "review-function-call" in analysis("ALTER TABLE users ADD COLUMN IF NOT EXISTS at timestamptz DEFAULT public.now();").rule_ids()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nextval('s') FROM generate_series(1, 1000000);",
        "DO $$ BEGIN WHILE true LOOP PERFORM nextval('s'); END LOOP; END $$;",
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT id FROM users LOOP PERFORM nextval('s'); END LOOP; END $$;",
    ],
)
def test_nextval_per_row_or_iteration_burns_the_sequence(sql):
    assert "ban-sequence-burn" in analysis(sql).rule_ids(F)


@pytest.mark.parametrize(
    ("sql", "rule_id"),
    [
        ("SELECT set_config('standard_conforming_strings', 'off', false);", "ban-set-parsing-setting"),
        ("SET backslash_quote = on;", "ban-set-parsing-setting"),
        ("RESET ALL;", "ban-set-parsing-setting"),
        ("DO $$ BEGIN PERFORM set_config(current_user, 'x', false); END $$;", "ban-set-parsing-setting"),
        ("SET LOCAL search_path = evil, public;", "ban-set-search-path"),
        ("SET ROLE admin;", "ban-set-session-role"),
        ("SET lock_timeout = 0;", "ban-set-timeout-off"),
        ("SET statement_timeout TO DEFAULT;", "ban-set-timeout-off"),
        ("SELECT set_config('statement_timeout', '0', true);", "ban-set-timeout-off"),
    ],
)
def test_settings_that_change_the_run(sql, rule_id):
    assert rule_id in analysis(sql).rule_ids(F)


# --------------------------------------------------------------------------- the tracking table

JOURNAL = (("abc123", 1718000000000),)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) SELECT 'abc123', 1718000000000;",
        "INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES (99, 'abc123', 1718000000000);",
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('abc123', 99999999999999);",
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('forged', 1718000000000);",
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('abc123', 1718000000000), ('x', 1);",
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) SELECT email || password, 1 FROM users;",
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('abc123', 1718000000000) ON CONFLICT DO NOTHING;",
        "UPDATE drizzle.__drizzle_migrations SET created_at = 0;",
        "DELETE FROM drizzle.__drizzle_migrations;",
        "TRUNCATE drizzle.__drizzle_migrations;",
        "COPY drizzle.__drizzle_migrations (hash, created_at) FROM '/tmp/rows.csv';",
        "WITH x AS (INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('abc123', 1718000000000) RETURNING id) SELECT 1;",
        "DO $$ BEGIN INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('f', 1); END $$;",
        "DO $$ BEGIN EXECUTE 'DELETE FROM drizzle.__drizzle_migrations'; END $$;",
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM drizzle.__drizzle_migrations';",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE sql AS $$ INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('x', 1) $$;\n"
        "CREATE TRIGGER t AFTER INSERT ON users EXECUTE FUNCTION f();",
    ],
)
def test_any_write_to_the_tracking_table_is_forbidden(sql):
    result = analysis(sql, journal=JOURNAL)
    assert result.verdict is F and "ban-tracking-table-write" in result.rule_ids(F), [str(f) for f in result.findings]


def test_the_literal_row_of_a_journal_entry_is_only_reviewed():
    sql = 'INSERT INTO "drizzle"."__drizzle_migrations" ("created_at", "hash") VALUES (1718000000000, \'abc123\');'
    assert analysis(sql, journal=JOURNAL).rule_ids() == ("review-tracking-row-from-journal",)
    assert analysis(sql).rule_ids() == ("ban-tracking-table-write",)


# --------------------------------------------------------------------------- data-dependent danger


@pytest.mark.parametrize(
    ("sql", "rule_id", "words"),
    [
        ("CREATE UNIQUE INDEX IF NOT EXISTS i ON users (email);", "review-unique-index", "duplicates"),
        ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);", "review-unique-index-concurrently", "INVALID index"),
        ("ALTER TABLE users ADD COLUMN c int CHECK (c > 0);", "review-add-column-constraint", "ACCESS EXCLUSIVE"),
        ("ALTER TABLE users ADD COLUMN c text UNIQUE;", "review-add-column-constraint", "UNIQUE"),
        ("ALTER TABLE users ADD COLUMN m int REFERENCES managers (id) ON DELETE CASCADE;", "review-fk-on-delete-cascade",
         "later delete of a row of public.managers"),
        ("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", "review-set-not-null", "fails if any row holds NULL"),
        ("ALTER TABLE a ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);", "review-add-constraint-validating", "orphan"),
    ],
)
def test_data_dependent_danger_states_its_consequence(sql, rule_id, words):
    [finding] = [f for f in analysis(sql).findings if f.rule_id == rule_id]
    assert finding.verdict is R and words in finding.message


def test_data_dependent_rules_are_quiet_on_tables_created_by_the_set():
    sql = (
        "CREATE TABLE bonus (id int, u int, code text);\n"
        "CREATE UNIQUE INDEX IF NOT EXISTS i ON bonus (code);\n"
        "ALTER TABLE bonus ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) ON DELETE CASCADE;"
    )
    quiet = {"review-unique-index", "review-fk-on-delete-cascade", "review-add-constraint-validating"}
    assert not quiet & set(analysis(sql).rule_ids())


# --------------------------------------------------------------------------- no false positives


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS full_name text GENERATED ALWAYS AS (first || ' ' || last) VIRTUAL;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS at timestamp DEFAULT (now() AT TIME ZONE 'utc');",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS at timestamptz DEFAULT pg_catalog.now() NOT NULL;",
        "ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS status campaign_status DEFAULT 'draft'::campaign_status NOT NULL;",
        "DO $$ BEGIN IF (SELECT count(*) FROM users) > 0 THEN RAISE NOTICE 'has users'; END IF; END $$;",
        "DO $$ BEGIN IF to_regclass('public.idx_x') IS NULL THEN RAISE NOTICE 'missing'; END IF; END $$;",
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'i') THEN RAISE NOTICE 'x'; END IF; END $$;",
        "CREATE INDEX IF NOT EXISTS i ON users (lower(email));",
        "CREATE INDEX IF NOT EXISTS i ON users (email) WHERE deleted_at IS NULL;",
        "CREATE INDEX IF NOT EXISTS i ON campaigns USING gin (to_tsvector('simple'::regconfig, coalesce(name, '')));",
        "DO $$ BEGIN PERFORM nextval('users_id_seq'); END $$;",
    ],
)
def test_safe_but_unusual_sql_stays_allowed(sql):
    result = analysis(sql)
    assert result.verdict is A, [str(f) for f in result.findings]


# --------------------------------------------------------------------------- more paths by which code runs


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE DOMAIN d AS int DEFAULT purge_v(1);\nALTER TABLE users ADD COLUMN IF NOT EXISTS n d;",
        "CREATE STATISTICS s ON (purge_v(id)) FROM users;\nANALYZE users;",
        "CREATE INDEX IF NOT EXISTS i ON t ((purge_v(id)));\nVACUUM t;",
        "CREATE INDEX IF NOT EXISTS i ON t ((purge_v(id)));\nALTER TABLE t ALTER COLUMN id TYPE bigint;",
        "CREATE INDEX IF NOT EXISTS i ON t ((purge_v(id)));\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD CONSTRAINT x EXCLUDE USING btree ((purge_v(id)) WITH =);",
        "CREATE AGGREGATE agg(int) (SFUNC = purge_v, STYPE = int);\nSELECT agg(id) FROM users;",
        "CREATE MATERIALIZED VIEW mv AS SELECT purge_v(1) WITH NO DATA;\nREFRESH MATERIALIZED VIEW mv;",
        "ALTER TABLE drizzle.__drizzle_migrations ALTER COLUMN id SET DEFAULT purge_v(1);",
    ],
)
def test_more_paths_by_which_the_run_executes_code(statement):
    result = analysis(PURGE_V + statement)
    assert any(f.rule_id == "ban-delete" and f.verdict is F for f in result.findings), [str(f) for f in result.findings]


@pytest.mark.parametrize(
    ("using", "rewrites"),
    [("'Doe'", True), ('md5("password")', True), ("purge_v(1)", True), ("a::int", False),
     ("a::text::int", False), ("a AT TIME ZONE 'UTC'", False), ("to_timestamp(a)", False), (None, False)],
)
def test_alter_type_using_other_values_is_an_update(using, rewrites):
    sql = f"ALTER TABLE users ALTER COLUMN a TYPE text{f' USING {using}' if using else ''};"
    assert ("ban-update" in analysis(sql).rule_ids()) is rewrites


def test_unbounded_plpgsql_loops_are_reviewed():
    assert analysis("DO $$ BEGIN LOOP END LOOP; END $$;").rule_ids() == ("review-plpgsql-loop",)
    assert analysis("DO $$ BEGIN WHILE now() < now() + interval '1 h' LOOP END LOOP; END $$;").verdict is R
    assert analysis("DO $$ BEGIN FOR i IN 1..3 LOOP RAISE NOTICE '%', i; END LOOP; END $$;").verdict is A


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE drizzle.__drizzle_migrations ADD COLUMN note text;",
        "ALTER TABLE drizzle.__drizzle_migrations RENAME TO old_ledger;",
        "ALTER SCHEMA drizzle RENAME TO old_drizzle;",
        "CREATE UNIQUE INDEX IF NOT EXISTS i ON drizzle.__drizzle_migrations (hash);",
        "ALTER TABLE drizzle.__drizzle_migrations DISABLE TRIGGER ALL;",
    ],
)
def test_schema_changes_of_the_tracking_table_are_forbidden(sql):
    assert "ban-tracking-table-code" in analysis(sql).rule_ids(F)


def test_existing_operators_domains_and_expression_indexes_are_followed():
    from pgrunbook.sqlcheck import CatalogDomain, CatalogIndex, CatalogOperator

    gc = function("gc", "BEGIN DELETE FROM users; RETURN true; END", args=("integer",), returns="boolean")
    operator = CatalogOperator("public", "===", "integer", "integer", "public", "gc")
    assert "ban-delete" in analysis("CREATE INDEX IF NOT EXISTS i ON t (a) WHERE a === 1;",
                                    catalog=CodeCatalog.of([gc], operators=[operator])).rule_ids(F)
    domain = CatalogDomain("public", "points", ("CHECK (gc(VALUE))",))
    assert "ban-delete" in analysis("ALTER TABLE users ADD COLUMN p public.points DEFAULT 0;",
                                    catalog=CodeCatalog.of([gc], domains=[domain])).rule_ids(F)
    index = CatalogIndex("public", "users", "i", "CREATE INDEX i ON public.users USING btree (gc(id))")
    catalog = CodeCatalog.of([gc], indexes=[index])
    assert "ban-delete" in analysis("ANALYZE users;", catalog=catalog).rule_ids(F)
    assert analysis("ANALYZE campaigns;", catalog=catalog).verdict is A


def test_alter_sequence_restart_is_setval():
    assert analysis("ALTER SEQUENCE users_id_seq RESTART WITH 1;").rule_ids(F) == ("ban-setval",)
    assert analysis("ALTER SEQUENCE users_id_seq OWNED BY users.id;").verdict is R


def test_row_level_security_policies():
    on_ledger = analysis(PURGE_V + "CREATE POLICY p ON drizzle.__drizzle_migrations WITH CHECK (purge_v(1) > 0);")
    assert {"ban-tracking-table-code", "ban-delete"} <= set(on_ledger.rule_ids(F))
    on_app = analysis(PURGE_V + "CREATE POLICY p ON users USING (purge_v(1) > 0);")
    assert on_app.verdict is R
    assert any("on every read or write of public.users" in f.message for f in delete_findings(on_app))


def test_existing_casts_are_followed_explicit_or_by_assignment():
    from pgrunbook.sqlcheck import CatalogCast

    gc = function("gc", "BEGIN DELETE FROM users; RETURN NULL; END", args=("text",), returns="label")
    catalog = CodeCatalog.of([gc], casts=[CatalogCast("text", "label", "public", "gc")])
    explicit = "ALTER TABLE campaigns ADD COLUMN l label DEFAULT 'x'::text::label;"
    assignment = "ALTER TABLE campaigns ADD COLUMN l label DEFAULT 'x'::text;"
    for sql in (explicit, assignment):
        assert "ban-delete" in analysis(sql, catalog=catalog).rule_ids(F), sql
    assert analysis("ALTER TABLE campaigns ADD COLUMN l label;", catalog=catalog).verdict is A


def test_validate_constraint_evaluates_a_not_valid_check():
    from pgrunbook.sqlcheck import CatalogCheck

    sql = PURGE_V + "ALTER TABLE users ADD CONSTRAINT c CHECK (purge_v(id) > 0) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT c;"
    assert [f.line for f in delete_findings(analysis(sql)) if f.verdict is F] == [3]
    gc = function("gc", "BEGIN DELETE FROM users; RETURN true; END", args=("integer",), returns="boolean")
    catalog = CodeCatalog.of([gc], unvalidated_checks=[CatalogCheck("public", "users", "c", "CHECK (gc(id)) NOT VALID")])
    assert "ban-delete" in analysis("ALTER TABLE users VALIDATE CONSTRAINT c;", catalog=catalog).rule_ids(F)


@pytest.mark.parametrize("rewrite", ["ALTER TABLE t ALTER COLUMN id TYPE bigint;", "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
                                     "ANALYZE t;", "REINDEX TABLE t;", "CLUSTER t USING i;"])
def test_statements_that_evaluate_index_expressions_again(rewrite):
    sql = PURGE_V + "CREATE INDEX IF NOT EXISTS i ON t ((purge_v(id)));\n" + rewrite
    assert 3 in [f.line for f in delete_findings(analysis(sql)) if f.verdict is F]
    assert 2 not in [f.line for f in delete_findings(analysis(PURGE_V + "ALTER TABLE t ADD COLUMN n int;"))]
