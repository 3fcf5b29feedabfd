"""Pre-flight data checks (issue 9.6): what to measure (pure), then measured on the sandbox."""

from __future__ import annotations

import pytest

from pgrunbook import commands, preflight
from pgrunbook.config import load_config
from pgrunbook.outcome import Status
from pgrunbook.preflight import count_sql, examples_sql, key_sql, plan_checks, violation_condition

from .phases import backed_up

EXISTING = frozenset({"public.users", "public.campaigns", "public.daily_bonus"})
INDEXES = "0011_add_performance_indexes"


def checks(sql: str, existing: frozenset[str] = EXISTING):
    return plan_checks([("m.sql", sql)], existing)


def one(sql: str):
    (check,) = checks(sql)
    return check


# --------------------------------------------------------------------------- what to measure (pure)


@pytest.mark.parametrize(("sql", "kind", "what"), [
    ('CREATE UNIQUE INDEX "u" ON "users" ("role");', "unique", 'unique index u ("role")'),
    ('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON users (lower(email)) WHERE deleted_at IS NULL;', "unique",
     "unique index u ((lower(email))) WHERE deleted_at IS NULL"),
    ('ALTER TABLE users ADD CONSTRAINT u UNIQUE (email, role);', "unique", 'unique ("email", "role")'),
    ('ALTER TABLE users ALTER COLUMN phone SET NOT NULL;', "not-null", "phone NOT NULL"),
    ('ALTER TABLE users ADD CONSTRAINT c CHECK (length(name) > 1);', "check", "CHECK (length(name) > 1)"),
    ('ALTER TABLE daily_bonus ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id);', "foreign-key",
     "foreign key (user_id) REFERENCES public.users (id)"),
    ('ALTER TABLE users ADD COLUMN x integer NOT NULL;', "not-null", "new column x NOT NULL"),
])
def test_statements_whose_success_depends_on_the_data(sql, kind, what):
    check = one(sql)
    assert (check.kind, check.what, check.skipped) == (kind, what, "")
    assert check.file == "m.sql" and check.line == 1


def test_a_primary_key_is_unique_and_not_null():
    unique, not_null = checks("ALTER TABLE campaigns ADD PRIMARY KEY (id);")
    assert unique.kind == "unique" and not_null.kind == "not-null" and not_null.where == '"id" IS NULL'


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0) NOT VALID;",
    "ALTER TABLE daily_bonus ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    "CREATE INDEX i ON users (role);",
    "ALTER TABLE users ADD COLUMN x integer;",
    "ALTER TABLE users ADD COLUMN x integer NOT NULL DEFAULT 0;",
    "ALTER TABLE users ADD COLUMN n serial PRIMARY KEY;",
    "ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;",
    "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email_idx;",
    "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL UNIQUE);",
])
def test_nothing_to_measure(sql):
    assert checks(sql) == ()


def test_tables_created_by_the_plan_are_skipped_even_in_a_later_file():
    found = plan_checks([("a.sql", "CREATE TABLE t (id int);"), ("b.sql", "CREATE UNIQUE INDEX u ON t (id);\n"
                                                                           "ALTER TABLE t ALTER COLUMN id SET NOT NULL;")], EXISTING)
    assert found == ()


def test_rows_changed_earlier_in_the_plan_make_the_check_not_checked():
    (check,) = checks("UPDATE users SET phone = '' WHERE phone IS NULL;\nALTER TABLE users ALTER COLUMN phone SET NOT NULL;")
    assert "changes rows of public.users before it (line 1)" in check.skipped and check.line == 2


def test_a_type_change_earlier_in_the_plan_makes_a_unique_index_not_checked():
    (check,) = checks("ALTER TABLE users ALTER COLUMN email TYPE citext;\nCREATE UNIQUE INDEX u ON users (email);")
    assert "changes rows of public.users before it (line 1)" in check.skipped


def test_a_column_added_by_the_plan_then_set_not_null_is_not_checked():
    (check,) = checks("ALTER TABLE users ADD COLUMN z text;\nALTER TABLE users ALTER COLUMN z SET NOT NULL;")
    assert "added by this plan" in check.skipped


@pytest.mark.parametrize(("sql", "reason"), [
    ("ALTER TABLE users ADD CONSTRAINT c CHECK (public.evil(id));", "public.evil()"),
    ("ALTER TABLE users ADD CONSTRAINT c CHECK (dblink_exec('x') = 'OK');", "dblink_exec()"),
    ("CREATE UNIQUE INDEX u ON users (my_hash(email));", "my_hash()"),
    ("CREATE UNIQUE INDEX u ON users (email) WHERE pg_sleep(10) IS NULL;", "pg_sleep()"),
    ("ALTER TABLE users ADD COLUMN c int NOT NULL DEFAULT nextval('s');", "nextval()"),
    ("ALTER TABLE users ADD CONSTRAINT c CHECK (id IN (SELECT 1));", "SubLink"),
])
def test_expressions_calling_code_are_not_evaluated(sql, reason):
    (check,) = checks(sql)
    assert check.skipped.startswith("evaluating it would run") and reason in check.skipped


def test_validate_constraint_of_one_added_not_valid_by_the_plan_is_measured_as_if_added_valid():
    (check,) = checks("ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT c;")
    assert (check.kind, check.line, check.where) == ("check", 2, "NOT (id > 0)")
    (other,) = checks("ALTER TABLE users VALIDATE CONSTRAINT made_by_hand;")
    assert (other.kind, other.constraint) == ("validate", "made_by_hand")


def test_an_exclusion_constraint_is_said_not_checked():
    (check,) = checks("ALTER TABLE users ADD CONSTRAINT x EXCLUDE USING gist (id WITH =);")
    assert check.kind == "exclusion" and "check by hand" in check.skipped


def test_a_table_the_database_does_not_have():
    (check,) = checks("ALTER TABLE nowhere ALTER COLUMN a SET NOT NULL;")
    assert "not a table of the database" in check.skipped


def test_queries_for_a_unique_index_honour_nulls_distinct_and_the_predicate():
    check = one('CREATE UNIQUE INDEX u ON users (role, lower(email)) WHERE deleted_at IS NULL;')
    sql = count_sql(check, "")
    assert 'WHERE (deleted_at IS NULL) AND ("role") IS NOT NULL AND ((lower(email))) IS NOT NULL' in sql
    assert 'GROUP BY "role", (lower(email)) HAVING count(*) > 1' in sql
    nnd = one('CREATE UNIQUE INDEX u ON users (role) NULLS NOT DISTINCT;')
    assert "IS NOT NULL" not in count_sql(nnd, "")


def test_examples_are_primary_keys_never_contents():
    check = one('CREATE UNIQUE INDEX u ON users (email);')
    key = key_sql(check, ("id",))
    assert key == 'concat_ws(\', \', t."id"::text)' and "SELECT string_agg(x.k, ', ') FROM (SELECT concat_ws" in examples_sql(check, "", key, 't."id"')
    assert key_sql(check, ()) == "t.ctid::text"


def test_a_new_column_is_measured_with_its_default_on_every_existing_row():
    check = one("ALTER TABLE users ADD COLUMN code text DEFAULT 'x' UNIQUE;")
    sql = count_sql(check, "")
    assert "CAST('x' AS text) AS \"code\" FROM \"public\".\"users\" x) t" in sql


def test_foreign_key_orphans_condition():
    check = one("ALTER TABLE daily_bonus ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id);")
    assert violation_condition(check, ("id",)) == ('t."user_id" IS NOT NULL AND NOT EXISTS (SELECT FROM "public"."users" r '
                                                   'WHERE r."id" = t."user_id")')
    full = one("ALTER TABLE daily_bonus ADD CONSTRAINT f FOREIGN KEY (user_id, campaign_id) REFERENCES campaigns (a, b) MATCH FULL;")
    assert violation_condition(full, ("a", "b")).startswith('(NOT (t."user_id" IS NULL AND t."campaign_id" IS NULL))')


def test_a_foreign_key_or_unique_key_on_columns_the_plan_adds_without_a_default_has_nothing_to_measure():
    """drizzle-kit adds a column, then its foreign key in the next statement (homarr's 0002): the column is NULL in
    every existing row, and NULLs break no foreign key nor a NULLS DISTINCT unique key. Measuring the live table
    failed ("column does not exist") and said "not checked"."""
    assert checks("ALTER TABLE daily_bonus ADD COLUMN team_id int;\n"
                  "ALTER TABLE daily_bonus ADD CONSTRAINT f FOREIGN KEY (team_id) REFERENCES users (id);") == ()
    assert checks("ALTER TABLE users ADD COLUMN handle text;\nCREATE UNIQUE INDEX u ON users (handle);") == ()
    # still measured or said: a default fills every row; NULLS NOT DISTINCT; a write in between; code in between
    for sql in ("ALTER TABLE daily_bonus ADD COLUMN team_id int DEFAULT 7;\n"
                "ALTER TABLE daily_bonus ADD CONSTRAINT f FOREIGN KEY (team_id) REFERENCES users (id);",
                "ALTER TABLE users ADD COLUMN handle text;\nCREATE UNIQUE INDEX u ON users (handle) NULLS NOT DISTINCT;",
                "ALTER TABLE users ADD COLUMN handle text;\nUPDATE users SET handle = email;\nCREATE UNIQUE INDEX u ON users (handle);",
                "ALTER TABLE users ADD COLUMN handle text;\nDO $$ BEGIN UPDATE users SET handle = email; END $$;\n"
                "CREATE UNIQUE INDEX u ON users (handle);",
                "ALTER TABLE users ADD COLUMN handle text;\nCREATE UNIQUE INDEX u ON users (handle, email);"):
        assert len(checks(sql)) == 1, sql


def test_a_foreign_key_to_a_table_the_plan_creates_counts_every_non_null_row():
    (check,) = plan_checks([("m.sql", "CREATE TABLE teams (id int PRIMARY KEY);\n"
                                      "ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (team_id) REFERENCES teams (id);")], EXISTING)
    assert check.referenced_created and violation_condition(check, ()) == 't."team_id" IS NOT NULL AND true'


def test_the_criterion_fails_on_a_failure_and_warns_on_what_it_could_not_check():
    check = one('CREATE UNIQUE INDEX u ON users (role);')
    failing = preflight.PreflightReport((preflight.CheckResult(check, "fail", 68, 2, ("1, 2, 3 (60 rows)",)),))
    assert failing.as_check().status is Status.FAIL and "2 duplicate key group(s), 68 rows" in failing.as_check().summary
    assert "m.sql:1" in failing.as_check().summary
    unknown = preflight.PreflightReport((preflight.CheckResult(check, "not-checked", reason="why"),))
    assert unknown.as_check().status is Status.WARN and preflight.PreflightReport().as_check().status is Status.OK


# --------------------------------------------------------------------------- measured on the sandbox


def measure(db, sql: str):
    from pgrunbook.pg import connect, read_only

    cfg = load_config(db.inventory())
    with connect(cfg.inventory.database) as conn, read_only(conn):
        return preflight.preflight_plan(conn, [("m.sql", sql)], timeout="30s")


@pytest.mark.integration
def test_on_the_sandbox(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("UPDATE users SET phone = NULL WHERE id IN (3, 5)")
        nulls = [r[0] for r in conn.execute("SELECT id FROM users WHERE phone IS NULL ORDER BY id")]
        conn.execute("ALTER TABLE daily_bonus DROP CONSTRAINT daily_bonus_user_id_users_id_fk")
        conn.execute("UPDATE daily_bonus SET user_id = 100000 + id WHERE id IN (SELECT id FROM daily_bonus ORDER BY id LIMIT 2)")
        roles = dict(conn.execute("SELECT role, count(*) FROM users GROUP BY role").fetchall())
        bonus_ids = [r[0] for r in conn.execute("SELECT id FROM daily_bonus ORDER BY id LIMIT 2")]
    report = measure(db, "\n".join([
        'CREATE UNIQUE INDEX CONCURRENTLY "u_role" ON "users" ("role");',
        'CREATE UNIQUE INDEX "u_email" ON "users" ("email");',
        'ALTER TABLE "users" ALTER COLUMN "phone" SET NOT NULL;',
        'ALTER TABLE "daily_bonus" ADD CONSTRAINT "f" FOREIGN KEY ("user_id") REFERENCES "users" ("id");',
        "ALTER TABLE \"users\" ADD CONSTRAINT \"c\" CHECK (role <> 'fbo');",
        'ALTER TABLE "users" ADD COLUMN "code" integer NOT NULL;',
        'ALTER TABLE "users" ADD COLUMN "code2" integer NOT NULL DEFAULT 0;',
        "ALTER TABLE \"users\" ADD COLUMN \"flag\" text DEFAULT 'x' UNIQUE;",
        'ALTER TABLE "users" ADD CONSTRAINT "evil" CHECK (public.evil(id));',
    ]))
    by_line = {r.check.line: r for r in report.results}
    role = by_line[1]
    assert (role.status, role.groups, role.count) == ("fail", len(roles), sum(roles.values()))
    assert by_line[2].status == "ok"
    assert (by_line[3].status, by_line[3].count, by_line[3].examples) == ("fail", len(nulls), tuple(str(i) for i in nulls[:5]))
    assert (by_line[4].status, by_line[4].count, by_line[4].examples) == ("fail", 2, tuple(str(i) for i in bonus_ids))
    assert by_line[5].status == "fail" and by_line[5].count == roles["fbo"]
    assert by_line[6].status == "fail" and by_line[6].count == sum(roles.values())
    assert 7 not in by_line  # NOT NULL with a default: nothing to measure
    assert by_line[8].status == "fail" and by_line[8].groups == 1
    assert by_line[9].status == "not-checked"
    summary = report.as_check().summary
    assert report.as_check().status is Status.FAIL and "m.sql:1" in summary and "@" not in summary  # keys, never emails


@pytest.mark.integration
def test_validate_constraint_reads_the_definition_from_the_catalog(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("ALTER TABLE daily_bonus DROP CONSTRAINT daily_bonus_user_id_users_id_fk")
        conn.execute("UPDATE daily_bonus SET user_id = 100000 + id WHERE id IN (SELECT id FROM daily_bonus ORDER BY id LIMIT 3)")
        conn.execute("ALTER TABLE daily_bonus ADD CONSTRAINT fk_by_hand FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID")
        conn.execute("ALTER TABLE users ADD CONSTRAINT ok_by_hand CHECK (id > 0) NOT VALID")
    report = measure(db, "ALTER TABLE daily_bonus VALIDATE CONSTRAINT fk_by_hand;\nALTER TABLE users VALIDATE CONSTRAINT ok_by_hand;\n"
                         "ALTER TABLE users VALIDATE CONSTRAINT nowhere;")
    fk, ok, missing = report.results
    assert (fk.status, fk.count, fk.check.line) == ("fail", 3, 1) and fk.check.what.startswith("VALIDATE CONSTRAINT fk_by_hand: foreign key")
    assert ok.status == "ok" and missing.status == "not-checked"


@pytest.mark.integration
def test_a_check_that_times_out_is_not_checked_and_the_transaction_goes_on(app_db):
    from pgrunbook.pg import connect, read_only

    db = app_db("tracked")
    cfg = load_config(db.inventory())
    with connect(cfg.inventory.database) as conn, read_only(conn):
        slow = "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0);"
        checks_ = preflight.plan_checks([("m.sql", slow)], frozenset({"public.users"}))
        # a condition that sleeps stands in for a huge table
        from dataclasses import replace

        sleepy = replace(checks_[0], where="pg_sleep(1) IS NULL")
        report = preflight.run_checks(conn, [sleepy], timeout="200ms")
        assert report.results[0].status == "not-checked" and "longer than 200ms" in report.results[0].reason
        assert conn.execute("SHOW statement_timeout").fetchone()[0] != "200ms"
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] > 0


@pytest.mark.integration
def test_a_unique_index_on_users_role_is_no_go_in_the_gate_and_refused_by_analyze(app_db):
    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nCREATE UNIQUE INDEX IF NOT EXISTS "idx_users_role_unique" ON "users" ("role");\n')
    report = commands.analyze(cfg, squawk=False)
    _, decision = commands.gate(cfg)
    gate_check = next(c for c in decision.checks if c.id == "data-preflight")
    assert not decision.go and gate_check.status is Status.FAIL
    assert f"{INDEXES}.sql:" in gate_check.summary and "duplicate key group(s), 68 rows" in gate_check.summary
    assert not report.ok and any(c["id"] == "data-preflight" and c["status"] == "fail" for c in report.as_json()["checks"])
    assert report.as_json()["preflight"]["results"][0]["count"] == 68


@pytest.mark.integration
def test_migrate_prod_refuses_a_unique_build_that_would_fail_before_touching_anything(app_db):
    """Without pre-flight the CONCURRENTLY build would start, fail on the duplicates and leave work to undo."""
    from pgrunbook.errors import CheckFailed
    from pgrunbook.runner import ProdOptions, migrate_prod

    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "idx_users_role_u" ON "users" ("role");\n')
    with db.connect() as conn:
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").fetchone()[0]
    with pytest.raises(CheckFailed, match="data-preflight"):
        migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").fetchone()[0] == indexes
